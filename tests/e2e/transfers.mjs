// An inter-agency dossier (liên thông) in Debian's Chromium, in three phases so that
// tests/integration/browser.rs can act through the API and read the database between them.
// The commune xa-a's quick procedure goes desk → transfer to tinh-a → desk; the dossier is filed,
// received and forwarded to the transfer step through the API before the first phase.
//
// PHASE=transfer: the commune's desk officer signs in on xa-a; the processing page names the
// transfer step and "Chuyển đến: Đơn vị TA" with the one button "Chuyển liên thông". Clicked,
// the page comes back saying the dossier is being decided elsewhere, with no step buttons, and
// "Liên thông" lists "Đã chuyển đến Đơn vị TA", first on its way, then (reloaded while the
// in-process deliverer runs) taken. The signed-in state is saved to $STATE_FILE.
//
// PHASE=province: tinh-a's desk officer (mot-cua) finds it in the inbox; its processing page
// says "Chuyển đến từ: Đơn vị XA", the first step "Tiếp nhận", and the copied file downloads;
// the officer forwards it and the next step belongs to another unit.
//
// PHASE=citizen (after the province decided through the API and the result came back): the
// applicant signs in on xa-a, where they applied; the dossier page's "Liên thông" shows the
// province's steps and statuses and none of the officials' notes ($PROVINCE_NOTES, `|`-separated)
// or names. The commune's desk (from $STATE_FILE: a second sign-in would replay the code) sees
// the dossier back at "Trả kết quả" with its button again.
//
// axe-core checks every page shown; screenshots go to $E2E_ARTIFACTS. Prints `RESULT {json}`
// last.

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
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

const XA = env('BASE_XA');
const TA = env('BASE_TA');
const PHASE = env('PHASE');
const STATE_FILE = env('STATE_FILE');
const PASSWORD = env('PASSWORD');
const CODE = env('CODE');
const HELD = 'Hồ sơ đang được giải quyết tại cơ quan khác; kết quả sẽ được chuyển về đây.';
const NOT_YOURS = 'Bước này do đơn vị khác xử lý.';
const PROVINCE = 'Đơn vị TA';
const COMMUNE = 'Đơn vị XA';

/** The sign-in host's form, with the authenticator's code. */
async function signIn(page, email, secret) {
  await page.waitForURL(/\/oauth\/authorize/);
  await page.getByLabel('Thư điện tử').fill(email);
  await page.getByLabel('Mật khẩu', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Mã xác thực').fill(totp(secret));
  await page.getByRole('button', { name: 'Đăng nhập' }).click();
}

/** A new browser context's page, signed in at `url` (which asks for it) as `email`. */
async function signedIn(browser, url, email, secret, width = 1280) {
  const context = await newContext(browser, { width });
  const page = await context.newPage();
  const noConsoleErrors = expectNoConsoleErrors(page);
  await page.goto(url);
  await signIn(page, email, secret);
  await page.waitForURL(url);
  return { context, page, noConsoleErrors };
}

/** The "Quy trình xử lý" section. */
function stepSection(page) {
  return page.locator('section[aria-labelledby="step-h"]');
}

/** The "Liên thông" section. */
function transferSection(page) {
  return page.locator('section[aria-labelledby="transfers-h"]');
}

/** The text of the <dd> after the <dt> reading exactly `term` in the step section's facts. */
async function stepFact(page, term) {
  const dt = stepSection(page).locator('dl.facts dt').filter({ hasText: new RegExp(`^\\s*${term}\\s*$`) });
  assert.equal(await dt.count(), 1, `one "${term}" in the step's facts`);
  return (await dt.locator('xpath=following-sibling::dd[1]').innerText()).trim();
}

/** Whether the step section's facts hold a <dt> reading exactly `term`. */
async function hasFact(page, term) {
  const dt = stepSection(page).locator('dl.facts dt').filter({ hasText: new RegExp(`^\\s*${term}\\s*$`) });
  return (await dt.count()) > 0;
}

/** The page's status line (the paragraph under its heading). */
async function status(page) {
  return (await page.locator('h1 + p').innerText()).trim();
}

/** The step section's button labels, in order. */
async function stepButtons(page) {
  return (await stepSection(page).getByRole('button').allInnerTexts()).map((t) => t.trim());
}

/** The processing page at `base`, reloaded; waits for its heading and step section. */
async function processing(page, base) {
  await page.goto(`${base}/can-bo/ho-so/${CODE}`);
  await page.getByRole('heading', { name: `Xử lý hồ sơ ${CODE}` }).waitFor();
  await stepSection(page).getByRole('heading', { name: 'Quy trình xử lý' }).waitFor();
}

/** The "Liên thông" section's timeline entries, whitespace collapsed. */
async function milestones(page) {
  return (await transferSection(page).locator('ol.timeline > li').allInnerTexts())
    .map((t) => t.replace(/\s+/g, ' ').trim());
}

// --- PHASE=transfer ----------------------------------------------------------------------------
async function transferPhase(browser, result) {
  const desk = await signedIn(browser, `${XA}/can-bo/ho-so/${CODE}`, env('DESK_EMAIL'), env('DESK_TOTP'));
  const { page } = desk;
  await processing(page, XA);
  assert.match(await status(page), /Đang xử lý/);
  assert.equal(await stepFact(page, 'Bước hiện tại'), '2. Chuyển Sở giải quyết');
  assert.match(await stepFact(page, 'Đơn vị xử lý'), /Bộ phận một cửa xã/);
  assert.equal(await stepFact(page, 'Chuyển đến'), PROVINCE, 'the receiving agency by its name');
  assert.deepEqual(await stepButtons(page), ['Chuyển liên thông']);
  assert.equal(await transferSection(page).count(), 0, 'nothing transferred yet');
  await checkA11y(page, 'transfers: the transfer step');
  await screenshot(page, 'desktop/transfers-desk');
  result.transfer_offered = true;

  const form = stepSection(page).locator('form', { has: page.getByRole('button', { name: 'Chuyển liên thông', exact: true }) });
  await form.getByLabel('Ghi chú').fill('Chuyển Sở giải quyết theo thẩm quyền.');
  assert.equal(await submit(page, () => form.getByRole('button', { name: 'Chuyển liên thông', exact: true }).click()), 200);
  await page.getByText('Đã cập nhật hồ sơ.').waitFor();
  assert.equal(new URL(page.url()).pathname, `/can-bo/ho-so/${CODE}`, 'back on the processing page');

  // Held by the province: said so, nothing to click, and not "another unit's step".
  await stepSection(page).getByText(HELD, { exact: true }).waitFor();
  assert.deepEqual(await stepButtons(page), [], 'no step buttons while the province holds it');
  assert.equal(await stepSection(page).getByText(NOT_YOURS).count(), 0);
  assert.equal(await stepFact(page, 'Bước hiện tại'), '2. Chuyển Sở giải quyết', 'it stays at the transfer step');
  assert.match(await status(page), /Đang xử lý/);
  const section = transferSection(page);
  await section.getByRole('heading', { name: 'Liên thông', exact: true }).waitFor();
  await section.getByRole('heading', { name: `Đã chuyển đến ${PROVINCE}`, exact: true }).waitFor();
  await checkA11y(page, 'transfers: held by the province');
  await screenshot(page, 'desktop/transfers-held');
  result.held_elsewhere = true;

  // The in-process deliverer takes it within seconds: "Đã tiếp nhận <time>" instead of "Đang chuyển".
  let taken = false;
  for (let i = 0; i < 30 && !taken; i++) {
    await processing(page, XA);
    taken = /Đã tiếp nhận \d/.test(await transferSection(page).locator('p.meta').first().innerText());
    if (!taken) await sleep(500);
  }
  assert.ok(taken, 'the province took the dossier');
  await stepSection(page).getByText(HELD, { exact: true }).waitFor();
  assert.deepEqual(await stepButtons(page), []);
  await checkA11y(page, 'transfers: taken by the province');
  result.taken_shown = true;

  await desk.context.storageState({ path: STATE_FILE });
  desk.noConsoleErrors();
}

// --- PHASE=province ----------------------------------------------------------------------------
async function provincePhase(browser, result) {
  // From the inbox, as the officer would find it.
  const officer = await signedIn(browser, `${TA}/can-bo`, env('OFFICER_EMAIL'), env('OFFICER_TOTP'));
  const { page } = officer;
  await page.getByRole('heading', { name: 'Hồ sơ cần xử lý', level: 1 }).waitFor();
  const link = page.getByRole('link', { name: CODE, exact: true });
  assert.equal(await link.count(), 1, 'the transferred dossier is in the province\'s inbox');
  await checkA11y(page, 'transfers: the province\'s inbox');
  await link.click();
  await page.waitForURL(`${TA}/can-bo/ho-so/${CODE}`);
  await processing(page, TA);
  result.in_inbox = true;

  assert.match(await status(page), /Đã tiếp nhận/);
  assert.equal(await stepFact(page, 'Chuyển đến từ'), COMMUNE, 'where it came from');
  assert.equal(await stepFact(page, 'Bước hiện tại'), '1. Tiếp nhận');
  assert.match(await stepFact(page, 'Đơn vị xử lý'), /Bộ phận một cửa/);
  assert.ok(!(await hasFact(page, 'Chuyển đến')), 'no onward transfer here');
  assert.deepEqual(await stepButtons(page), ['Chuyển bước tiếp theo']);
  await stepSection(page).getByText(HELD).waitFor({ state: 'detached' });
  // The applicant's file, copied into the province's storage.
  const file = page.locator('section[aria-labelledby="files-h"]').getByRole('link', { name: 'de-nghi.pdf' });
  assert.equal(await file.count(), 1, 'the copied file is listed');
  // Fetched by the page itself (Node does not resolve *.localhost), with the officer's cookies.
  const download = await page.evaluate(async (href) => {
    const r = await fetch(href);
    return { status: r.status, head: new TextDecoder().decode((await r.arrayBuffer()).slice(0, 5)) };
  }, await file.getAttribute('href'));
  assert.deepEqual(download, { status: 200, head: '%PDF-' }, 'the copy is the PDF');
  result.file_copied = true;
  await checkA11y(page, 'transfers: received at the province');
  await screenshot(page, 'desktop/transfers-province');
  result.from_commune = true;

  const form = stepSection(page).locator('form', { has: page.getByRole('button', { name: 'Chuyển bước tiếp theo', exact: true }) });
  await form.getByLabel('Ghi chú').fill(env('DESK_NOTE'));
  assert.equal(await submit(page, () => form.getByRole('button', { name: 'Chuyển bước tiếp theo', exact: true }).click()), 200);
  await page.getByText('Đã cập nhật hồ sơ.').waitFor();
  assert.equal(await stepFact(page, 'Bước hiện tại'), '2. Thẩm định');
  await stepSection(page).getByText(NOT_YOURS).waitFor();
  assert.deepEqual(await stepButtons(page), []);
  result.forwarded = true;
  officer.noConsoleErrors();
}

// --- PHASE=citizen -----------------------------------------------------------------------------
async function citizenPhase(browser, result) {
  const PAGE = `${XA}/ho-so/${CODE}`;
  const citizen = await signedIn(browser, PAGE, env('CITIZEN_EMAIL'), env('CITIZEN_TOTP'), 360);
  const { page } = citizen;
  await page.getByRole('heading', { name: `Hồ sơ ${CODE}` }).waitFor();
  const section = transferSection(page);
  await section.getByRole('heading', { name: 'Liên thông', exact: true }).waitFor();
  await section.getByRole('heading', { name: `Đã chuyển đến ${PROVINCE}`, exact: true }).waitFor();
  assert.match(await section.locator('p.meta').first().innerText(), /Đã tiếp nhận \d/);
  // Each of the province's steps with its time, in order: received, its three hand-overs,
  // approved, returned to the commune.
  const entries = await milestones(page);
  const time = /\s+\d{1,2}:\d{2} \d{2}\/\d{2}\/\d{4}$/;
  for (const e of entries) assert.match(e, time, `each step has its time: ${e}`);
  const steps = entries.map((e) => e.replace(time, ''));
  assert.deepEqual(steps, [
    'Đã tiếp nhận — Tiếp nhận',
    'Đang xử lý — Thẩm định',
    'Đang xử lý — Ký duyệt',
    'Đang xử lý — Vào sổ, đóng dấu',
    'Đã phê duyệt',
    'Đã trả kết quả',
  ]);
  result.province_steps = steps.length;
  // Status, step and time only: no official's note or name.
  const text = await section.innerText();
  for (const secret of [...env('PROVINCE_NOTES').split('|'), ...env('OFFICIAL_NAMES').split('|')]) {
    assert.ok(!text.includes(secret), `"${secret}" is not shown to the applicant in Liên thông`);
  }
  result.no_notes_in_transfers = true;
  // Nor anywhere else on the applicant's page.
  const body = await page.locator('main').innerText();
  result.leaked = [...env('PROVINCE_NOTES').split('|'), ...env('OFFICIAL_NAMES').split('|')].filter((s) => body.includes(s));
  await checkA11y(page, 'transfers: the applicant\'s dossier');
  await screenshot(page, 'phone/transfers-citizen');
  result.citizen_sees_transfer = true;
  citizen.noConsoleErrors();

  // The commune's desk, from the saved state: the result is back, at "Trả kết quả".
  const context = await newContext(browser, { width: 1280, storageState: STATE_FILE });
  const desk = await context.newPage();
  const deskErrors = expectNoConsoleErrors(desk);
  await processing(desk, XA);
  assert.equal(new URL(desk.url()).origin, XA, 'still signed in');
  assert.equal(await stepFact(desk, 'Bước hiện tại'), '3. Trả kết quả');
  assert.equal(await stepSection(desk).getByText(HELD).count(), 0, 'no longer held');
  assert.deepEqual(await stepButtons(desk), ['Chuyển bước tiếp theo']);
  await checkA11y(desk, 'transfers: the result back at the commune');
  await screenshot(desk, 'desktop/transfers-back');
  result.back_at_commune = true;
  deskErrors();
}

const browser = await launch();
const result = { phase: PHASE, code: CODE };
try {
  if (PHASE === 'transfer') await transferPhase(browser, result);
  else if (PHASE === 'province') await provincePhase(browser, result);
  else if (PHASE === 'citizen') await citizenPhase(browser, result);
  else throw new Error(`PHASE is transfer, province or citizen, not ${PHASE}`);
} catch (e) {
  // Where every page was when it failed, to read in the test's output.
  for (const context of browser.contexts()) {
    for (const p of context.pages()) {
      const text = await p.innerText('body').catch(() => '');
      console.error(`--- ${p.url()}\n${text.slice(0, 1500)}`);
      await screenshot(p, `failure/transfers-${PHASE}-${browser.contexts().indexOf(context)}-${Date.now()}`).catch(() => {});
    }
  }
  throw e;
} finally {
  await browser.close();
}
console.log(`RESULT ${JSON.stringify(result)}`);
