// The tenant admin's "Đơn vị và quy trình xử lý" page (/quan-tri/quy-trinh), in Debian's
// Chromium, in two phases so that tests/integration/browser.rs can read the database between
// them:
//
// PHASE=set: the admin signs in with the authenticator, follows the link from /quan-tri,
// creates the units mot-cua and lanh-dao (a code with capitals and accents comes back with the
// error summary and creates nothing), puts the desk officer in mot-cua and the leader in
// lanh-dao (a citizen is refused with a message), then declares the QUICK procedure's process
// in the plain step form: 4 hours + 4 days is more than its 3-day limit and comes back (422)
// with the summary naming the limit and the rows as submitted; 4 hours + 2 days is saved and
// the overview shows "2 bước". The signed-in browser state is saved to $STATE_FILE.
//
// PHASE=clear: the same admin (from $STATE_FILE, no second sign-in: the code would be a replay)
// drops the process with "Bỏ quy trình…"; the overview shows the fixed path again.
//
// axe-core checks every page shown; screenshots go to $E2E_ARTIFACTS. Prints `RESULT {json}`
// last.

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
const PHASE = env('PHASE');
const STATE_FILE = env('STATE_FILE');
const PROCEDURE = env('PROCEDURE');
const OVERVIEW = `${A}/quan-tri/quy-trinh`;
const EDITOR = `${OVERVIEW}/${PROCEDURE}`;
const TITLE = 'Đơn vị và quy trình xử lý';
const CLEAR = 'Bỏ quy trình, dùng đường xử lý mặc định';
const ACTIONS = {
  forward: 'Chuyển bước tiếp theo',
  return: 'Trả lại bước trước',
  ask_opinion: 'Xin ý kiến',
  request_supplement: 'Yêu cầu bổ sung',
  decide: 'Quyết định',
  transfer: 'Chuyển liên thông',
};

/** The sign-in host's form, with the authenticator's code. */
async function signIn(page, email, secret) {
  await page.waitForURL(/\/oauth\/authorize/);
  await page.getByLabel('Thư điện tử').fill(email);
  await page.getByLabel('Mật khẩu', { exact: true }).fill(env('PASSWORD'));
  await page.getByLabel('Mã xác thực').fill(totp(secret));
  await page.getByRole('button', { name: 'Đăng nhập' }).click();
}

/**
 * Submits `form` with its button; returns the status. Checks first that the browser's own
 * constraint validation lets it through: the server's error summary is what tells the user,
 * and a blocked form would otherwise only show up as a timeout.
 */
async function submitForm(page, form, button) {
  const blocked = await form.evaluate((f) => (f.noValidate ? [] : [...f.elements]
    .filter((e) => e.willValidate && !e.checkValidity())
    .map((e) => `${e.name}: ${e.validationMessage}`)));
  assert.deepEqual(blocked, [], 'the browser itself refuses to submit the form (it needs novalidate)');
  return submit(page, () => form.getByRole('button', { name: button, exact: true }).click());
}

/** The error summary's messages, or [] when there is none. */
async function errorSummary(page) {
  const summary = page.locator('#error-summary');
  if ((await summary.count()) === 0) return [];
  await summary.getByRole('heading', { name: 'Vui lòng sửa các mục sau' }).waitFor();
  return (await summary.locator('li').allInnerTexts()).map((t) => t.trim());
}

/** The units table's rows as { code, name, members } (members: the cell's text). */
async function units(page) {
  const rows = page.locator('section[aria-labelledby="units-h"] table tbody tr');
  const out = [];
  for (const row of await rows.all()) {
    const cells = (await row.locator('td').allInnerTexts()).map((t) => t.trim());
    out.push({ code: cells[0], name: cells[1], members: cells[2] });
  }
  return out;
}

/** The overview's "Quy trình" cell for a procedure. */
async function processOf(page, code) {
  const row = page.locator('section[aria-labelledby="processes-h"] table tbody tr')
    .filter({ has: page.getByRole('cell', { name: code, exact: true }) });
  assert.equal(await row.count(), 1, `one row for ${code}`);
  return (await row.locator('td').nth(2).innerText()).trim();
}

/** The "Thêm hoặc đổi tên đơn vị" form. */
async function saveUnit(page, code, nameVi, nameEn = '') {
  const form = page.locator('form[action="/quan-tri/don-vi"]');
  await form.getByLabel('Mã đơn vị').fill(code);
  await form.getByLabel('Tên đơn vị (tiếng Việt)').fill(nameVi);
  await form.getByLabel('Tên đơn vị (tiếng Anh, không bắt buộc)').fill(nameEn);
  return submitForm(page, form, 'Lưu đơn vị');
}

/** The "Thêm cán bộ vào đơn vị" form. */
async function addMember(page, unit, email, role) {
  const form = page.locator('form:has(#member-email)');
  await form.getByLabel('Đơn vị', { exact: true }).selectOption(unit);
  await form.getByLabel('Thư điện tử').fill(email);
  await form.getByLabel('Vai trò').selectOption(role);
  return submitForm(page, form, 'Thêm vào đơn vị');
}

/** The step form's rows (the outer fieldsets). */
function stepRows(page) {
  return page.locator('form[action^="/quan-tri/quy-trinh/"] > fieldset');
}

/** Fills row `i` of the step form as a user would, ticking exactly `actions`. */
async function fillStep(page, i, { code, name, unit, role, actions, amount, per }) {
  const row = stepRows(page).nth(i);
  await row.getByLabel('Mã bước').fill(code);
  await row.getByLabel('Tên bước (tiếng Việt)').fill(name);
  await row.getByLabel('Đơn vị', { exact: true }).selectOption(unit);
  await row.getByLabel('Vai trò').selectOption(role);
  for (const [key, label] of Object.entries(ACTIONS)) {
    await row.getByLabel(label, { exact: true }).setChecked(actions.includes(key));
  }
  await row.getByLabel('Thời gian của bước').fill(String(amount));
  await row.getByLabel('Đơn vị thời gian').selectOption(per);
}

/** What row `i` of the step form shows. */
async function readStep(page, i) {
  const row = stepRows(page).nth(i);
  const actions = [];
  for (const [key, label] of Object.entries(ACTIONS)) {
    if (await row.getByLabel(label, { exact: true }).isChecked()) actions.push(key);
  }
  return {
    legend: (await row.locator(':scope > legend').innerText()).trim(),
    code: await row.getByLabel('Mã bước').inputValue(),
    name: await row.getByLabel('Tên bước (tiếng Việt)').inputValue(),
    unit: await row.getByLabel('Đơn vị', { exact: true }).inputValue(),
    role: await row.getByLabel('Vai trò').inputValue(),
    actions,
    amount: await row.getByLabel('Thời gian của bước').inputValue(),
    per: await row.getByLabel('Đơn vị thời gian').inputValue(),
  };
}

const DESK = { code: 'tiep-nhan', name: 'Tiếp nhận', unit: 'mot-cua', role: 'officer', actions: ['forward'], amount: 4, per: 'hours' };
const SIGN = { code: 'ky-duyet', name: 'Ký duyệt', unit: 'lanh-dao', role: 'leader', actions: ['decide'], amount: 4, per: 'days' };

/** The editor's rows compared with what was filled in (legends aside). */
function sameStep(shown, filled) {
  const { legend, ...rest } = shown;
  assert.deepEqual(rest, { ...filled, amount: String(filled.amount) });
  return legend;
}

async function setPhase(browser, result) {
  const context = await newContext(browser, { width: 1280 });
  const page = await context.newPage();
  // The refused forms answer 422 on purpose; Chromium logs any 4xx document as an error.
  const noConsoleErrors = expectNoConsoleErrors(page, { ignore: [/status of 422/] });

  // --- From the admin page to units and processes -------------------------------------------
  await page.goto(`${A}/quan-tri`);
  await signIn(page, env('ADMIN_EMAIL'), env('ADMIN_TOTP'));
  await page.waitForURL(`${A}/quan-tri`);
  await page.getByRole('link', { name: TITLE, exact: true }).click();
  await page.waitForURL(OVERVIEW);
  await page.getByRole('heading', { level: 1, name: TITLE }).waitFor();
  await page.getByText('Chưa có đơn vị nào.').waitFor();
  assert.equal(await processOf(page, PROCEDURE), 'Đường xử lý mặc định');
  await checkA11y(page, 'admin processes');
  await screenshot(page, 'desktop/admin-processes');

  // --- Units: a bad code is refused and creates nothing, two good ones are saved -------------
  assert.equal(await saveUnit(page, 'Một Cửa', 'Bộ phận một cửa'), 422);
  const unitErrors = await errorSummary(page);
  assert.ok(unitErrors.some((e) => e.startsWith('Mã đơn vị')), `the code is named: ${unitErrors}`);
  await page.getByText('Chưa có đơn vị nào.').waitFor();
  assert.deepEqual(await units(page), [], 'a refused unit is not listed');
  await checkA11y(page, 'admin processes: refused unit');
  await screenshot(page, 'desktop/admin-processes-refused-unit');
  result.bad_unit_refused = true;

  assert.equal(await saveUnit(page, 'mot-cua', 'Bộ phận một cửa', 'One-stop desk'), 200);
  await page.getByText('Đã lưu đơn vị.').waitFor();
  assert.equal(await page.locator('#error-summary').count(), 0);
  assert.equal(await saveUnit(page, 'lanh-dao', 'Lãnh đạo Sở'), 200);
  await page.getByText('Đã lưu đơn vị.').waitFor();
  // In code order, with their Vietnamese names.
  assert.deepEqual(
    (await units(page)).map(({ code, name, members }) => [code, name, members]),
    [['lanh-dao', 'Lãnh đạo Sở', 'Chưa có cán bộ.'], ['mot-cua', 'Bộ phận một cửa', 'Chưa có cán bộ.']],
  );
  result.units = (await units(page)).map((u) => u.code);

  // --- Officials into units; a citizen is refused ---------------------------------------------
  assert.equal(await addMember(page, 'mot-cua', env('OFFICER_EMAIL'), 'officer'), 200);
  await page.getByText('Đã thêm cán bộ vào đơn vị.').waitFor();
  assert.equal(await addMember(page, 'lanh-dao', env('LEADER_EMAIL'), 'leader'), 200);
  await page.getByText('Đã thêm cán bộ vào đơn vị.').waitFor();
  assert.equal(await addMember(page, 'mot-cua', env('CITIZEN_EMAIL'), 'officer'), 422);
  const memberErrors = await errorSummary(page);
  assert.ok(
    memberErrors.some((e) => e.includes('không phải cán bộ hoặc lãnh đạo')),
    `the citizen is refused with a message: ${memberErrors}`,
  );
  const members = Object.fromEntries((await units(page)).map((u) => [u.code, u.members]));
  assert.ok(members['mot-cua'].includes(`(${env('OFFICER_EMAIL')}) — Cán bộ`), members['mot-cua']);
  assert.ok(members['lanh-dao'].includes(`(${env('LEADER_EMAIL')}) — Lãnh đạo`), members['lanh-dao']);
  assert.ok(!members['mot-cua'].includes(env('CITIZEN_EMAIL')), 'the citizen is in no unit');
  // One "Rút khỏi đơn vị" button per membership, its name saying whom and where.
  const removeButtons = page.locator('section[aria-labelledby="units-h"] table form button');
  assert.deepEqual((await removeButtons.allInnerTexts()).map((t) => t.trim()), ['Rút khỏi đơn vị', 'Rút khỏi đơn vị']);
  const removes = await removeButtons.evaluateAll((bs) => bs.map((b) => b.getAttribute('aria-label') ?? ''));
  assert.ok(removes[0].includes(env('LEADER_EMAIL')) && removes[0].includes('lanh-dao'), removes[0]);
  assert.ok(removes[1].includes(env('OFFICER_EMAIL')) && removes[1].includes('mot-cua'), removes[1]);
  await checkA11y(page, 'admin processes: refused member');
  await screenshot(page, 'desktop/admin-processes-members');
  result.citizen_refused = true;

  // --- The QUICK procedure's process ----------------------------------------------------------
  await page.goto(OVERVIEW);
  await page.getByRole('link', { name: `Sửa quy trình của thủ tục ${PROCEDURE}` }).click();
  await page.waitForURL(EDITOR);
  await page.getByRole('heading', { level: 1, name: `Quy trình xử lý thủ tục ${PROCEDURE}` }).waitFor();
  await page.getByText('3 ngày làm việc').waitFor();
  assert.equal(await stepRows(page).count(), 2, 'two blank rows for a procedure without a process');
  assert.equal(await page.getByRole('button', { name: CLEAR }).count(), 0, 'nothing to clear yet');
  await checkA11y(page, 'process editor (blank)');

  // 4 working hours + 4 working days: more than the 3-day limit.
  await fillStep(page, 0, DESK);
  await fillStep(page, 1, SIGN);
  const form = page.locator(`form[action="/quan-tri/quy-trinh/${PROCEDURE}"]`).first();
  assert.equal(await submitForm(page, form, 'Lưu quy trình'), 422);
  const overBudget = await errorSummary(page);
  assert.ok(
    overBudget.some((e) => /vượt thời hạn giải quyết 3 ngày làm việc/.test(e)),
    `the summary names the time limit: ${overBudget}`,
  );
  // The rows as submitted, and two blank ones again.
  assert.equal(await stepRows(page).count(), 4);
  sameStep(await readStep(page, 0), DESK);
  sameStep(await readStep(page, 1), SIGN);
  assert.equal((await readStep(page, 2)).code, '');
  await checkA11y(page, 'process editor (refused)');
  await screenshot(page, 'desktop/admin-process-refused');
  result.over_budget_refused = true;

  // 4 working hours + 2 working days fit.
  const signed = { ...SIGN, amount: 2 };
  await fillStep(page, 1, signed);
  assert.equal(await submitForm(page, form, 'Lưu quy trình'), 200);
  await page.waitForURL(`${OVERVIEW}?ok=process`);
  await page.getByText('Đã lưu quy trình xử lý.').waitFor();
  assert.equal(await processOf(page, PROCEDURE), '2 bước');
  result.saved = true;

  // The editor shows the declared steps back, and offers to clear them.
  await page.getByRole('link', { name: `Sửa quy trình của thủ tục ${PROCEDURE}` }).click();
  await page.waitForURL(EDITOR);
  assert.equal(await stepRows(page).count(), 4);
  assert.equal(sameStep(await readStep(page, 0), DESK), 'Bước 1');
  assert.equal(sameStep(await readStep(page, 1), signed), 'Bước 2');
  assert.equal((await readStep(page, 2)).legend, 'Bước mới (để trống nếu không dùng)');
  await page.getByRole('button', { name: CLEAR }).waitFor();
  await checkA11y(page, 'process editor (declared)');
  await screenshot(page, 'desktop/admin-process');
  result.shown_back = true;

  noConsoleErrors();
  await context.storageState({ path: STATE_FILE });
}

async function clearPhase(browser, result) {
  const context = await newContext(browser, { width: 1280, storageState: STATE_FILE });
  const page = await context.newPage();
  const noConsoleErrors = expectNoConsoleErrors(page);
  await page.goto(EDITOR);
  await page.waitForURL(EDITOR); // still signed in: no detour through the sign-in host
  assert.equal(await stepRows(page).count(), 4, 'the two declared steps and two blank rows');
  assert.equal(await submit(page, () => page.getByRole('button', { name: CLEAR }).click()), 200);
  await page.waitForURL(`${OVERVIEW}?ok=process`);
  await page.getByText('Đã lưu quy trình xử lý.').waitFor();
  assert.equal(await processOf(page, PROCEDURE), 'Đường xử lý mặc định');
  await checkA11y(page, 'admin processes (cleared)');
  await screenshot(page, 'desktop/admin-processes-cleared');
  // Back to two blank rows, and nothing left to clear.
  await page.goto(EDITOR);
  assert.equal(await stepRows(page).count(), 2);
  assert.equal(await page.getByRole('button', { name: CLEAR }).count(), 0);
  result.cleared = true;
  noConsoleErrors();
}

const browser = await launch();
const result = { phase: PHASE };
try {
  if (PHASE === 'set') await setPhase(browser, result);
  else if (PHASE === 'clear') await clearPhase(browser, result);
  else throw new Error(`PHASE is set or clear, not ${PHASE}`);
} catch (e) {
  // Where every page was when it failed, to read in the test's output.
  for (const context of browser.contexts()) {
    for (const p of context.pages()) {
      const text = await p.innerText('body').catch(() => '');
      console.error(`--- ${p.url()}\n${text.slice(0, 2500)}`);
      await screenshot(p, `failure/admin-processes-${PHASE}-${Date.now()}`).catch(() => {});
    }
  }
  throw e;
} finally {
  await browser.close();
}
console.log(`RESULT ${JSON.stringify(result)}`);
