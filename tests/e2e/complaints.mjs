// Complaints and recommendations (phản ánh, kiến nghị) in Debian's Chromium, on tinh-a's
// portal ($BASE_A).
//
// A visitor without an account (a phone) opens "Phản ánh, kiến nghị": nothing published yet.
// The form sent empty comes back (422) with its error summary, each line linked to its input,
// and the inputs marked invalid. Filled in — a complaint about an official, with the filer's
// name and phone in the text too, the filer's name and mobile 0987 111 222, publication agreed
// — it leads to the verification page, which says the code was texted. A wrong code is refused
// (422) on the same page, which still says where the code went; the code read from the text the
// sandbox provider wrote to $SANDBOX_DIR files it: the list page confirms it by its code.
//
// tinh-a's officer signs in: the list has it open (and $OVERDUE marked late); its page offers a
// public question drafted without the filer's name or phone; the answer, published, is shown.
// The leader's dashboard lists $OVERDUE as late and not the answered one. The public page shows
// the question and answer and nothing personal, in Vietnamese and in English; the English form
// sent empty is refused in English.
//
// axe-core checks every page; no console errors besides the 422s. Prints `RESULT {json}` last.

import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  checkA11y,
  env,
  expectNoConsoleErrors,
  launch,
  newContext,
  screenshot,
  signInWithTotp,
  submit,
} from './lib.mjs';

const A = env('BASE_A');
const SANDBOX = env('SANDBOX_DIR');
const PASSWORD = env('PASSWORD');
const OVERDUE = env('OVERDUE');
const NAME = 'Phạm Thị Dung';
const PHONE = '0987 111 222';
const TITLE = 'Cán bộ ghi sai ngày hẹn';
const BODY = `Tôi là ${NAME}, số điện thoại ${PHONE}. Cán bộ một cửa ghi ngày hẹn sai trên giấy hẹn, ` +
  'tôi phải đi lại hai lần.';
const ANSWER = 'Sở đã kiểm tra, điều chỉnh ngày hẹn và nhắc nhở cán bộ tiếp nhận.';
// What must never reach the public page: the name, the phone however written.
const PERSONAL = [NAME, '0987', '111 222', '987111222'];

const signIn = (page, email, secret) => signInWithTotp(page, email, PASSWORD, secret);

/**
 * The verification code texted for `code`: from the newest file of the sandbox provider whose
 * text names the complaint and ends with six digits. Waits for the worker to send it.
 */
async function textedCode(code, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = [];
    for (const name of await readdir(SANDBOX).catch(() => [])) {
      if (!name.endsWith('.json')) continue;
      const file = path.join(SANDBOX, name);
      const [raw, st] = await Promise.all([readFile(file, 'utf8'), stat(file)]).catch(() => []);
      let text;
      try {
        text = JSON.parse(raw);
      } catch {
        continue; // being written
      }
      const m = /(\d{6})\s*$/.exec(text.body ?? '');
      if (m && text.body.includes(code)) found.push({ at: st.mtimeMs, to: text.to, code: m[1] });
    }
    if (found.length > 0) return found.sort((a, b) => b.at - a.at)[0];
    if (Date.now() > deadline) throw new Error(`no text for ${code} in ${SANDBOX} within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** The error summary's lines, each link's target checked: an element of the page. */
async function errorSummary(page) {
  const summary = page.locator('#error-summary');
  await summary.waitFor();
  assert.equal(await summary.getAttribute('role'), 'alert');
  const lines = (await summary.locator('li').allInnerTexts()).map((s) => s.trim());
  for (const link of await summary.locator('a').all()) {
    const href = await link.getAttribute('href');
    const label = (await link.innerText()).trim();
    assert.match(href, /^#./, `${label}: a link into the page`);
    assert.equal(await page.locator(href).count(), 1, `error summary "${label}" links to ${href}, which is not on the page`);
  }
  return lines;
}

const browser = await launch();
const result = {};
try {
  // --- A visitor files a complaint -----------------------------------------------------------
  const page = await (await newContext(browser, { width: 360 })).newPage();
  const visitorConsole = expectNoConsoleErrors(page, { ignore: [/status of 422/] });
  await page.goto(`${A}/phan-anh-kien-nghi`);
  await page.getByRole('heading', { name: 'Phản ánh, kiến nghị', level: 1 }).waitFor();
  assert.equal(await page.getAttribute('html', 'lang'), 'vi');
  await page.getByText('Chưa có phản ánh, kiến nghị nào được công khai.').waitFor();
  await checkA11y(page, 'complaints: public list (empty)');
  await page.getByRole('link', { name: 'Gửi phản ánh, kiến nghị' }).click();
  await page.waitForURL(`${A}/phan-anh-kien-nghi/gui`);
  await page.getByRole('heading', { name: 'Gửi phản ánh, kiến nghị', level: 1 }).waitFor();
  await checkA11y(page, 'complaints: form');

  // Sent empty: refused, every missing answer named and linked to its input.
  const send = page.getByRole('button', { name: 'Gửi', exact: true });
  assert.equal(await submit(page, () => send.click()), 422);
  const lines = await errorSummary(page);
  for (const want of ['Tiêu đề: bắt buộc', 'Nội dung: bắt buộc', 'Họ và tên: bắt buộc',
    'Cho biết thư điện tử hoặc số điện thoại di động', 'Ghi mã thủ tục, mã hồ sơ hoặc đơn vị']) {
    assert.ok(lines.some((l) => l.includes(want)), `"${want}" in the error summary: ${lines.join(' | ')}`);
  }
  for (const label of ['Tiêu đề', 'Nội dung phản ánh, kiến nghị', 'Họ và tên']) {
    assert.equal(await page.getByLabel(label, { exact: true }).getAttribute('aria-invalid'), 'true', label);
  }
  await checkA11y(page, 'complaints: form refused');
  await screenshot(page, 'phone/complaint-refused');

  await page.getByLabel('Loại', { exact: true }).selectOption({ label: 'Phản ánh' });
  await page.getByLabel('Liên quan đến').selectOption({ label: 'Cán bộ' });
  await page.getByLabel('Mã thủ tục, mã hồ sơ, mã đơn vị hoặc tên cán bộ').fill('Bộ phận một cửa, buổi sáng');
  await page.getByLabel('Tiêu đề').fill(TITLE);
  await page.getByLabel('Nội dung phản ánh, kiến nghị').fill(BODY);
  await page.getByLabel('Họ và tên').fill(NAME);
  await page.getByLabel('Số điện thoại di động').fill(PHONE);
  await page.getByLabel('Tôi đồng ý công khai nội dung phản ánh và câu trả lời').check();
  assert.equal(await submit(page, () => send.click()), 200);
  await page.waitForURL(/\/phan-anh-kien-nghi\/PAKN-\d{6}-\d{4,}\/xac-minh\?qua=sms$/);
  const code = new URL(page.url()).pathname.split('/')[2];
  result.code = code;
  await page.getByRole('heading', { name: 'Xác minh phản ánh, kiến nghị', level: 1 }).waitFor();
  await page.getByText(`nhắn mã xác minh gồm 6 chữ số tới số điện thoại của bạn cho phản ánh ${code}`).waitFor();
  await checkA11y(page, 'complaints: verification');

  // The code, texted to the phone given.
  const texted = await textedCode(code);
  assert.equal(texted.to, '84987111222');
  const wrong = texted.code === '000000' ? '111111' : '000000';
  await page.getByLabel('Mã xác minh').fill(wrong);
  const verify = page.getByRole('button', { name: 'Xác minh và gửi' });
  assert.equal(await submit(page, () => verify.click()), 422);
  await page.getByRole('alert').getByText('Mã xác minh không đúng. Vui lòng kiểm tra lại.').waitFor();
  assert.equal(await page.getByLabel('Mã xác minh').getAttribute('aria-invalid'), 'true');
  // Still the same complaint, and still where its code went (a text, not an e-mail).
  const intro = await page.locator('main p').first().innerText();
  assert.ok(intro.includes(code), intro);
  assert.ok(intro.includes('số điện thoại'), `after a wrong code the page should still say the code was texted: "${intro}"`);
  await checkA11y(page, 'complaints: wrong code');
  await page.getByLabel('Mã xác minh').fill(texted.code);
  assert.equal(await submit(page, () => verify.click()), 200);
  await page.waitForURL(`${A}/phan-anh-kien-nghi?gui=${code}`);
  await page.getByRole('status').getByText(`Đã nhận phản ánh, kiến nghị ${code}.`).waitFor();
  await checkA11y(page, 'complaints: filed');
  visitorConsole();
  result.verified = true;

  // --- The officer answers and publishes it ----------------------------------------------------
  const officer = await (await newContext(browser, { width: 1280 })).newPage();
  const officerConsole = expectNoConsoleErrors(officer);
  await officer.goto(`${A}/can-bo/phan-anh`);
  await signIn(officer, env('OFFICER_EMAIL'), env('OFFICER_TOTP'));
  await officer.waitForURL(`${A}/can-bo/phan-anh`);
  await officer.getByRole('heading', { name: 'Phản ánh, kiến nghị cần xử lý', level: 1 }).waitFor();
  const row = officer.getByRole('row', { name: new RegExp(code) });
  assert.match(await row.innerText(), new RegExp(`${TITLE}\\s+Phản ánh\\s+Đang xử lý`));
  assert.doesNotMatch(await row.innerText(), /Quá hạn/);
  assert.match(await officer.getByRole('row', { name: new RegExp(OVERDUE) }).innerText(), /Quá hạn/);
  await checkA11y(officer, 'complaints: officer list');
  await row.getByRole('link', { name: code }).click();
  await officer.waitForURL(`${A}/can-bo/phan-anh/${code}`);
  await officer.getByRole('heading', { name: `Phản ánh ${code}`, level: 1 }).waitFor();
  await officer.getByRole('heading', { name: TITLE, level: 2 }).waitFor();
  await checkA11y(officer, 'complaints: officer page');
  // The draft for the public: the text without the filer's name or phone.
  const draft = await officer.getByLabel('Nội dung công khai').inputValue();
  for (const p of PERSONAL) assert.ok(!draft.includes(p), `"${p}" in the draft: ${draft}`);
  assert.ok(draft.includes('ghi ngày hẹn sai trên giấy hẹn'), draft);
  await officer.getByLabel('Trả lời', { exact: true }).fill(ANSWER);
  await officer.getByLabel('Công khai câu hỏi và câu trả lời trên cổng').check();
  assert.equal(await submit(officer, () => officer.getByRole('button', { name: 'Gửi trả lời' }).click()), 200);
  await officer.waitForURL(`${A}/can-bo/phan-anh/${code}`);
  const answered = officer.getByRole('region', { name: 'Trả lời' });
  await answered.getByText(ANSWER).waitFor();
  await answered.getByText('Công khai lúc').waitFor();
  await officer.getByText('Đã trả lời, công khai').waitFor();
  assert.equal(await officer.getByRole('button', { name: 'Gửi trả lời' }).count(), 0);
  await checkA11y(officer, 'complaints: officer page (answered)');
  officerConsole();
  result.published = true;

  // --- The leader sees what is late ------------------------------------------------------------
  const leader = await (await newContext(browser, { width: 1280 })).newPage();
  await leader.goto(`${A}/lanh-dao`);
  await signIn(leader, env('LEADER_EMAIL'), env('LEADER_TOTP'));
  await leader.waitForURL(`${A}/lanh-dao`);
  const late = leader.getByRole('region', { name: 'Phản ánh, kiến nghị quá hạn trả lời' });
  await late.getByRole('link', { name: OVERDUE }).waitFor();
  assert.equal(await late.getByRole('link', { name: code }).count(), 0);
  assert.ok(!(await late.innerText()).includes(code));
  await checkA11y(leader, 'complaints: leader dashboard');

  // --- The public sees the answer, nothing personal ------------------------------------------
  await page.goto(`${A}/phan-anh-kien-nghi`);
  const item = page.getByRole('article', { name: `Phản ánh ${code}` });
  await item.getByText(ANSWER).waitFor();
  await item.getByText('ghi ngày hẹn sai trên giấy hẹn').waitFor();
  const html = await page.content();
  for (const p of [...PERSONAL, '84987111222']) assert.ok(!html.includes(p), `"${p}" on the public page`);
  await checkA11y(page, 'complaints: public list');
  await screenshot(page, 'phone/complaints-published');

  await page.getByRole('button', { name: 'English' }).click();
  await page.getByRole('heading', { name: 'Complaints and recommendations', level: 1 }).waitFor();
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  const itemEn = page.getByRole('article', { name: `Complaint ${code}` });
  await itemEn.getByText(ANSWER).waitFor();
  await itemEn.getByText('Answer:').waitFor();
  const htmlEn = await page.content();
  for (const p of [...PERSONAL, '84987111222']) assert.ok(!htmlEn.includes(p), `"${p}" on the public page (en)`);
  await checkA11y(page, 'complaints: public list (en)');
  await page.getByRole('link', { name: 'Send a complaint or recommendation' }).click();
  await page.getByRole('heading', { name: 'Send a complaint or recommendation', level: 1 }).waitFor();
  await checkA11y(page, 'complaints: form (en)');
  assert.equal(await submit(page, () => page.getByRole('button', { name: 'Send', exact: true }).click()), 422);
  const linesEn = await errorSummary(page);
  assert.ok(linesEn.some((l) => l.includes('Title: required')), linesEn.join(' | '));
  assert.ok(linesEn.some((l) => l.includes('Give an e-mail or a mobile number')), linesEn.join(' | '));
  await checkA11y(page, 'complaints: form refused (en)');
  visitorConsole();
} finally {
  await browser.close();
}
console.log(`RESULT ${JSON.stringify(result)}`);
