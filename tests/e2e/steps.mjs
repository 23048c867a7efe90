// A dossier walked through its procedure's declared process, in Debian's Chromium: the desk
// (mot-cua) receives and forwards it, the specialist (phong-viec-lam) asks the legal unit's
// opinion (phap-che), which the desk officer gives, then forwards; the leader (lanh-dao) decides
// on the step's own form — the fixed path's "Phê duyệt"/"Từ chối" are not offered — and the
// clerk (van-thu) forwards it to "Đã phê duyệt"; the result is returned. Whoever does not hold
// the current step sees "Bước này do đơn vị khác xử lý." and no step buttons. axe-core checks
// the processing page with its step section; screenshots go to $E2E_ARTIFACTS. Run by
// tests/integration/browser.rs, which files the dossier and checks the database and the
// processing record afterwards. Prints `RESULT {json}` last.

import assert from 'node:assert/strict';
import {
  checkA11y,
  expectNoConsoleErrors,
  launch,
  newContext,
  screenshot,
  submit,
  totp,
} from './lib.mjs';

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

const A = env('BASE_A');
const PASSWORD = env('PASSWORD');
const CODE = env('CODE');
const OFFICER = env('OFFICER_EMAIL');
const OFFICER_TOTP = env('OFFICER_TOTP');
const SPECIALIST = env('SPECIALIST_EMAIL');
const SPECIALIST_TOTP = env('SPECIALIST_TOTP');
const LEADER = env('LEADER_EMAIL');
const LEADER_TOTP = env('LEADER_TOTP');
const PAGE = `${A}/can-bo/ho-so/${CODE}`;
const NOT_YOURS = 'Bước này do đơn vị khác xử lý.';
const STEP_BUTTONS = ['Chuyển bước tiếp theo', 'Trả lại bước trước', 'Xin ý kiến', 'Quyết định', 'Gửi ý kiến'];
const OPINION = 'Đủ điều kiện theo quy định của pháp luật.';

/** The sign-in host's form, with the authenticator's code. */
async function signIn(page, email, secret) {
  await page.waitForURL(/\/oauth\/authorize/);
  await page.getByLabel('Thư điện tử').fill(email);
  await page.getByLabel('Mật khẩu', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Mã xác thực').fill(totp(secret));
  await page.getByRole('button', { name: 'Đăng nhập' }).click();
}

/** An official on a desktop, signed in on the dossier's processing page. */
async function official(browser, email, secret) {
  const page = await (await newContext(browser, { width: 1280 })).newPage();
  const noConsoleErrors = expectNoConsoleErrors(page);
  await page.goto(PAGE);
  await signIn(page, email, secret);
  await page.waitForURL(PAGE);
  await page.getByRole('heading', { name: `Xử lý hồ sơ ${CODE}` }).waitFor();
  return { page, noConsoleErrors };
}

/** The "Quy trình xử lý" section. */
function stepSection(page) {
  return page.locator('section[aria-labelledby="step-h"]');
}

/** The text of the <dd> after the <dt> labelled `term` in the step section's facts. */
async function stepFact(page, term) {
  const dt = stepSection(page).locator('dl.facts dt', { hasText: term }).first();
  return (await dt.locator('xpath=following-sibling::dd[1]').innerText()).trim();
}

/** The processing page's status line (the paragraph under its heading). */
async function status(page) {
  return (await page.locator('h1 + p').innerText()).trim();
}

/** The step section's button labels, in order. */
async function stepButtons(page) {
  return (await stepSection(page).getByRole('button').allInnerTexts()).map((t) => t.trim());
}

/** Reloads the processing page; checks the current step's name and unit. */
const UNIT_NAMES = {
  'mot-cua': 'Bộ phận một cửa',
  'phong-viec-lam': 'Phòng Việc làm',
  'lanh-dao': 'Lãnh đạo Sở',
  'van-thu': 'Văn thư',
};

async function atStep(page, number, name, unit) {
  await page.goto(PAGE);
  await stepSection(page).getByRole('heading', { name: 'Quy trình xử lý' }).waitFor();
  assert.equal(await stepFact(page, 'Bước hiện tại'), `${number}. ${name}`);
  // The unit by the name it was declared with, not its code.
  assert.match(await stepFact(page, 'Đơn vị xử lý'), new RegExp(UNIT_NAMES[unit]));
  assert.match(await stepFact(page, 'Hạn của bước'), /\d/, 'the step has its due time');
}

/** The official does not hold the current step: told so, and no step buttons. */
async function notMine(page) {
  await stepSection(page).getByText(NOT_YOURS).waitFor();
  assert.deepEqual(await stepButtons(page), [], 'no step buttons for another unit\'s step');
}

/** Clicks a step button (with a note when given); the page reports the update. */
async function stepAction(page, button, note) {
  const form = stepSection(page).locator('form', { has: page.getByRole('button', { name: button, exact: true }) });
  if (note) await form.getByLabel('Ghi chú').fill(note);
  assert.equal(await submit(page, () => form.getByRole('button', { name: button, exact: true }).click()), 200);
  await page.getByText('Đã cập nhật hồ sơ.').waitFor();
}

const browser = await launch();
const result = { code: CODE };
try {
  // --- The desk (mot-cua) receives it: the process starts at its first step ----------------
  const desk = await official(browser, OFFICER, OFFICER_TOTP);
  assert.equal(await stepSection(desk.page).count(), 0, 'no step before receipt');
  assert.equal(await submit(desk.page, () => desk.page.getByRole('button', { name: 'Tiếp nhận', exact: true }).click()), 200);
  await desk.page.getByText('Đã cập nhật hồ sơ.').waitFor();
  assert.match(await status(desk.page), /Đã tiếp nhận/);
  await atStep(desk.page, 1, 'Tiếp nhận', 'mot-cua');
  assert.deepEqual(await stepButtons(desk.page), ['Chuyển bước tiếp theo']);
  await checkA11y(desk.page, 'steps: desk step');
  await screenshot(desk.page, 'desktop/steps-desk');

  // The specialist does not hold the desk's step.
  const specialist = await official(browser, SPECIALIST, SPECIALIST_TOTP);
  await atStep(specialist.page, 1, 'Tiếp nhận', 'mot-cua');
  await notMine(specialist.page);
  await checkA11y(specialist.page, 'steps: another unit\'s step');
  await screenshot(specialist.page, 'desktop/steps-not-yours');
  result.not_yours = true;

  await stepAction(desk.page, 'Chuyển bước tiếp theo', 'Hồ sơ đầy đủ.');
  await atStep(desk.page, 2, 'Thẩm định', 'phong-viec-lam');
  await notMine(desk.page);

  // --- The specialist (phong-viec-lam) asks the legal unit's opinion ------------------------
  await atStep(specialist.page, 2, 'Thẩm định', 'phong-viec-lam');
  const buttons = await stepButtons(specialist.page);
  for (const b of ['Chuyển bước tiếp theo', 'Trả lại bước trước', 'Xin ý kiến']) {
    assert.ok(buttons.includes(b), `${b} offered at Thẩm định: ${buttons}`);
  }
  assert.ok(!buttons.includes('Quyết định'), 'no decision at Thẩm định');
  const unit = stepSection(specialist.page).locator('select[name="unit"]');
  const options = await unit.locator('option').evaluateAll((os) => os.map((o) => o.value));
  assert.ok(options.includes('phap-che'), `phap-che may be asked: ${options}`);
  assert.ok(!options.includes('phong-viec-lam'), 'not the step\'s own unit');
  await checkA11y(specialist.page, 'steps: specialist step');
  await screenshot(specialist.page, 'desktop/steps-specialist');
  await unit.selectOption('phap-che');
  await stepAction(specialist.page, 'Xin ý kiến', 'Xin ý kiến pháp lý về điều kiện cấp.');
  assert.match(await stepFact(specialist.page, 'Đang chờ ý kiến của'), /phap-che/);

  // --- The desk officer, in phap-che too, gives the opinion ---------------------------------
  await atStep(desk.page, 2, 'Thẩm định', 'phong-viec-lam');
  assert.match(await stepFact(desk.page, 'Đang chờ ý kiến của'), /phap-che/);
  const opinion = stepSection(desk.page).locator('textarea[name="opinion"]');
  await opinion.waitFor();
  await checkA11y(desk.page, 'steps: opinion asked');
  await screenshot(desk.page, 'desktop/steps-opinion');
  await opinion.fill(OPINION);
  assert.equal(await submit(desk.page, () => stepSection(desk.page).getByRole('button', { name: 'Gửi ý kiến' }).click()), 200);
  await desk.page.getByText('Đã cập nhật hồ sơ.').waitFor();
  assert.equal(await stepSection(desk.page).locator('textarea[name="opinion"]').count(), 0, 'given once');
  result.opinion_given = true;

  // --- The specialist forwards it to the leader ---------------------------------------------
  await atStep(specialist.page, 2, 'Thẩm định', 'phong-viec-lam');
  assert.equal(await stepSection(specialist.page).locator('dl.facts dt', { hasText: 'Đang chờ ý kiến của' }).count(), 0);
  await stepAction(specialist.page, 'Chuyển bước tiếp theo', 'Đề nghị phê duyệt.');

  // --- The leader (lanh-dao) decides on the step's form, not the fixed path's buttons ------
  const leader = await official(browser, LEADER, LEADER_TOTP);
  await atStep(leader.page, 3, 'Ký duyệt', 'lanh-dao');
  const leaderButtons = await stepButtons(leader.page);
  assert.ok(leaderButtons.includes('Quyết định') && leaderButtons.includes('Trả lại bước trước'), `${leaderButtons}`);
  const fixed = leader.page.locator('section[aria-labelledby="act-h"]');
  await fixed.getByRole('heading', { name: 'Thao tác' }).waitFor();
  for (const b of ['Phê duyệt', 'Từ chối']) {
    assert.equal(await fixed.getByRole('button', { name: b, exact: true }).count(), 0, `"${b}" is not offered`);
  }
  result.fixed_path_hidden = true;
  await checkA11y(leader.page, 'steps: leader step');
  await screenshot(leader.page, 'desktop/steps-leader');
  await atStep(specialist.page, 3, 'Ký duyệt', 'lanh-dao');
  await notMine(specialist.page);
  const approve = stepSection(leader.page).locator('input[name="outcome"][value="approve"]');
  await approve.check();
  assert.ok(await approve.isChecked());
  await stepAction(leader.page, 'Quyết định', 'Đồng ý cấp.');
  await atStep(leader.page, 4, 'Vào sổ, đóng dấu', 'van-thu');
  await notMine(leader.page);

  // --- The clerk (van-thu) forwards the last step: approved; then the result goes out ------
  await atStep(desk.page, 4, 'Vào sổ, đóng dấu', 'van-thu');
  assert.deepEqual(await stepButtons(desk.page), ['Chuyển bước tiếp theo']);
  await stepAction(desk.page, 'Chuyển bước tiếp theo', 'Đã vào sổ.');
  assert.match(await status(desk.page), /Đã phê duyệt/);
  result.approved = true;
  assert.equal(await submit(desk.page, () => desk.page.getByRole('button', { name: 'Trả kết quả' }).click()), 200);
  await desk.page.getByText('Đã cập nhật hồ sơ.').waitFor();
  assert.match(await status(desk.page), /Đã trả kết quả/);
  await checkA11y(desk.page, 'steps: returned');
  await screenshot(desk.page, 'desktop/steps-returned');
  result.returned = true;

  desk.noConsoleErrors();
  specialist.noConsoleErrors();
  leader.noConsoleErrors();
} catch (e) {
  // Where every page was when it failed, to read in the test's output.
  for (const context of browser.contexts()) {
    for (const p of context.pages()) {
      const text = await p.innerText('body').catch(() => '');
      console.error(`--- ${p.url()}\n${text.slice(0, 1500)}`);
      await screenshot(p, `failure/steps-${browser.contexts().indexOf(context)}-${Date.now()}`).catch(() => {});
    }
  }
  throw e;
} finally {
  await browser.close();
}
console.log(`RESULT ${JSON.stringify(result)}`);
