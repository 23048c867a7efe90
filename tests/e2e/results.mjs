// Signed electronic results and the citizen's wallet (issue 19) in Debian's Chromium, in four
// phases so that tests/integration/browser_results.rs can read the database and the stored
// files between them. Before the first, tinh-a imported its certificate through the API and
// the citizen's work-permit dossier $CODE there was filed, received and approved.
//
// PHASE=issue: tinh-a's officer signs in; the processing page's "Kết quả điện tử" says there is
// none yet and offers "Phát hành kết quả điện tử" (generate, upload, paper scan). An upload
// without its file is refused with the reason and nothing issued; the generated result is
// signed and issued: "Số 00001/<year>/KQ", "Còn hiệu lực", its download and verification links,
// the revoke form, and no second issue form. The signed-in state is saved to $OFFICER_STATE.
//
// PHASE=citizen (a phone): the applicant signs in on tinh-a; their dossier page lists the
// result; the PDF downloads with a click (kept at $E2E_ARTIFACTS/results/<code>-ket-qua.pdf for
// pdfsig); "Trang xác thực" says it is valid, with the issuer, the procedure and the file's
// SHA-256, and none of $PRIVATE (`|`-separated); the same page, signed out, from the address
// its QR code carries ($QR_URL), in English; "Kho dữ liệu" lists the result and the accepted
// application. Then, silently signed in on tinh-b,
// the applicant applies for $EXTENSION: the review page's "Hoặc chọn từ kho dữ liệu" offers the
// result first, "— đề xuất", and the dossier is filed with it instead of an upload; its page
// says where the file came from. The signed-in state is saved to $CITIZEN_STATE.
//
// PHASE=receiver: tinh-b's officer opens $EXT_CODE; under the file, "Lấy từ kho dữ liệu của người
// nộp: Đơn vị TA, hồ sơ $CODE — kết quả số $NUMBER, đã xác thực chữ ký; người nộp chọn lúc …"
// (when the applicant chose it); the copy downloads,
// the same bytes ($SHA256).
//
// PHASE=revoke: tinh-a's officer (from $OFFICER_STATE) revokes the result; an empty reason is
// refused first. The section shows "Đã thu hồi" with the reason and the issue form again; the
// public page (signed out, both languages) says it was revoked today and not why; the
// applicant's wallet (from $CITIZEN_STATE) marks it revoked and tinh-b's review page no longer
// offers it.
//
// axe-core checks every page shown; screenshots go to $E2E_ARTIFACTS. Prints `RESULT {json}`
// last.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
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

const TA = env('BASE_TA');
const TB = env('BASE_TB');
const PHASE = env('PHASE');
const PASSWORD = env('PASSWORD');
const CODE = env('CODE');
const ARTIFACTS = path.resolve(process.env.E2E_ARTIFACTS || 'target/e2e-artifacts');
const ISSUER = 'Đơn vị TA';
const PROCEDURE = 'Cấp giấy phép lao động cho người nước ngoài';
const GENERATE = 'Tạo từ mẫu của thủ tục (thông tin tờ khai và nội dung giải quyết)';
const ISSUE = 'Ký số và phát hành';
const DOWNLOAD = 'Tải kết quả (PDF có chữ ký số)';
const REASON = 'Cấp nhầm thời hạn giấy phép';

/** Today in Hanoi as the portal writes dates (dd/mm/yyyy). */
function hanoiDate(at = new Date()) {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Asia/Ho_Chi_Minh', day: '2-digit', month: '2-digit', year: 'numeric',
  }).format(at);
}

/** A dd/mm/yyyy date as the English pages write it ("7 Dec 2026"). */
function englishDate(ddmmyyyy) {
  const [d, m, y] = ddmmyyyy.split('/').map(Number);
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  return `${d} ${months[m - 1]} ${y}`;
}

function sha256(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Text with whitespace collapsed. */
function squash(s) {
  return s.replace(/\s+/g, ' ').trim();
}

/** The sign-in host's form, with the authenticator's code. */
const signIn = (page, email, secret) => signInWithTotp(page, email, PASSWORD, secret);

/** A new browser context's page, signed in at `url` (which asks for it) as `email`. */
async function signedIn(browser, url, email, secret, width = 1280) {
  const context = await newContext(browser, { width });
  const page = await context.newPage();
  const noConsoleErrors = expectNoConsoleErrors(page, { ignore: [/status of 422/] });
  await page.goto(url);
  await signIn(page, email, secret);
  await page.waitForURL(url);
  return { context, page, noConsoleErrors };
}

/** A new browser context's page from a saved signed-in state. */
async function restored(browser, file, width = 1280) {
  const context = await newContext(browser, { width, storageState: file });
  const page = await context.newPage();
  const noConsoleErrors = expectNoConsoleErrors(page, { ignore: [/status of 422/] });
  return { context, page, noConsoleErrors };
}

/** The "Kết quả điện tử" section. */
function resultsSection(page) {
  return page.locator('section[aria-labelledby="results-h"]');
}

/** The section's one listed result and its text. */
async function listedResult(page) {
  const items = resultsSection(page).locator('ul.plain > li');
  assert.equal(await items.count(), 1, 'one result listed');
  const item = items.first();
  return { item, text: squash(await item.innerText()) };
}

/** The processing page of `code` at `base`; waits for its heading. */
async function processing(page, base, code) {
  await page.goto(`${base}/can-bo/ho-so/${code}`);
  await page.getByRole('heading', { name: `Xử lý hồ sơ ${code}` }).waitFor();
}

/** The page's status line (the paragraph under its heading). */
async function status(page) {
  return squash(await page.locator('h1 + p').innerText());
}

/** The <dd> after the <dt> reading exactly `term` in the page's facts. */
async function fact(page, term) {
  const dt = page.locator('main dl.facts dt').filter({ hasText: new RegExp(`^\\s*${term}\\s*$`) });
  assert.equal(await dt.count(), 1, `one "${term}"`);
  return squash(await dt.locator('xpath=following-sibling::dd[1]').innerText());
}

/** Clicks a link that downloads; keeps the file at `file`; returns its bytes and name. */
async function download(page, link, file) {
  const [dl] = await Promise.all([page.waitForEvent('download'), link.click()]);
  await mkdir(path.dirname(file), { recursive: true });
  await dl.saveAs(file);
  const bytes = await readFile(file);
  assert.equal(bytes.subarray(0, 5).toString('latin1'), '%PDF-', `${file} is a PDF`);
  return { bytes, name: dl.suggestedFilename() };
}

/**
 * Fetches `href` with the page's session (by the page itself: Node does not resolve
 * *.localhost); its status, type and bytes.
 */
async function fetched(page, href) {
  const got = await page.evaluate(async (url) => {
    const r = await fetch(url, { credentials: 'same-origin' });
    const bytes = new Uint8Array(await r.arrayBuffer());
    let binary = '';
    for (const b of bytes) binary += String.fromCharCode(b);
    return { status: r.status, type: r.headers.get('content-type'), body: btoa(binary) };
  }, href);
  return { ...got, bytes: Buffer.from(got.body, 'base64') };
}

/** The review page's wallet select for the first document, and its options' texts. */
async function walletOffers(page) {
  const select = page.getByLabel('Hoặc chọn từ kho dữ liệu');
  assert.equal(await select.count(), 1, 'one wallet select (one document)');
  const options = (await select.locator('option').allInnerTexts()).map(squash);
  return { select, options };
}

/** Step 1 of applying for the extension at tinh-b (the phone only), up to the review page. */
async function toReview(page) {
  await page.getByRole('heading', { level: 1 }).first().waitFor();
  await page.getByLabel('Số điện thoại nhận thông báo').fill(env('PHONE'));
  assert.equal(await submit(page, () => page.getByRole('button', { name: 'Tiếp tục' }).click()), 200);
  await page.getByRole('heading', { name: 'Xem lại và đính kèm giấy tờ' }).waitFor();
}

// --- PHASE=issue -------------------------------------------------------------------------------
async function issuePhase(browser, result) {
  const officer = await signedIn(browser, `${TA}/can-bo/ho-so/${CODE}`, env('OFFICER_EMAIL'), env('OFFICER_TOTP'));
  const { page } = officer;
  await processing(page, TA, CODE);
  assert.match(await status(page), /Đã phê duyệt/);
  const section = resultsSection(page);
  await section.getByRole('heading', { name: 'Kết quả điện tử', exact: true }).waitFor();
  await section.getByText('Chưa có kết quả điện tử.', { exact: true }).waitFor();
  const form = () => section.locator('form', { has: page.getByRole('button', { name: ISSUE, exact: true }) });
  await form().getByRole('heading', { name: 'Phát hành kết quả điện tử' }).waitFor();
  assert.ok(await form().getByLabel(GENERATE).isChecked(), 'generated by default');
  await checkA11y(page, 'results: the issue form');
  await screenshot(page, 'desktop/results-issue');
  result.issue_form = true;

  // "Upload" without a file: refused with the reason, nothing issued.
  await form().getByLabel('Tải lên tệp PDF đã soạn').check();
  assert.equal(await submit(page, () => form().getByRole('button', { name: ISSUE, exact: true }).click()), 422);
  await page.locator('#error-summary').getByText('Hãy chọn tệp PDF của kết quả').waitFor();
  await section.getByText('Chưa có kết quả điện tử.', { exact: true }).waitFor();
  await checkA11y(page, 'results: the missing file refused');
  result.missing_file_refused = true;

  // Generated from the form and the decision, numbered, signed.
  await form().getByLabel(GENERATE).check();
  assert.equal(await submit(page, () => form().getByRole('button', { name: ISSUE, exact: true }).click()), 200);
  assert.equal(new URL(page.url()).pathname, `/can-bo/ho-so/${CODE}`, 'back on the processing page');
  await page.getByText('Đã ký số và phát hành kết quả.').waitFor();
  const { item, text } = await listedResult(page);
  const number = /Số (\d{5}\/\d{4}\/KQ)/.exec(text)?.[1];
  assert.equal(number, `00001/${hanoiDate().slice(6)}/KQ`, text);
  assert.equal(squash(await item.locator('.badge').innerText()), 'Còn hiệu lực');
  assert.match(text, /Tạo từ mẫu của thủ tục/, 'its origin');
  const pdf = await item.getByRole('link', { name: DOWNLOAD }).getAttribute('href');
  const id = /^\/ho-so\/[^/]+\/ket-qua\/([0-9a-f-]{36})$/.exec(pdf)?.[1];
  assert.ok(id, `the download link: ${pdf}`);
  assert.equal(pdf, `/ho-so/${CODE}/ket-qua/${id}`);
  assert.equal(await item.getByRole('link', { name: 'Trang xác thực' }).getAttribute('href'), `/ket-qua/${id}`);
  // One live result at a time: the revoke form instead of a second issue form.
  assert.equal(await section.getByRole('button', { name: ISSUE }).count(), 0);
  await section.getByRole('heading', { name: `Thu hồi kết quả ${number}` }).waitFor();
  await checkA11y(page, 'results: issued');
  await screenshot(page, 'desktop/results-issued');
  Object.assign(result, { issued: true, number, result_id: id });

  await officer.context.storageState({ path: env('OFFICER_STATE') });
  officer.noConsoleErrors();
}

// --- PHASE=citizen -----------------------------------------------------------------------------
async function citizenPhase(browser, result) {
  const NUMBER = env('NUMBER');
  const ID = env('RESULT_ID');
  const PRIVATE = env('PRIVATE').split('|');
  const citizen = await signedIn(browser, `${TA}/ho-so/${CODE}`, env('CITIZEN_EMAIL'), env('CITIZEN_TOTP'), 360);
  const { page } = citizen;

  // The dossier page lists the result, valid, with its two links.
  await page.getByRole('heading', { name: `Hồ sơ ${CODE}` }).waitFor();
  await resultsSection(page).getByRole('heading', { name: 'Kết quả điện tử', exact: true }).waitFor();
  const { item, text } = await listedResult(page);
  assert.match(text, new RegExp(`^Số ${NUMBER} Còn hiệu lực`), text);
  await checkA11y(page, 'results: the applicant\'s dossier');
  await screenshot(page, 'phone/results-dossier');
  result.listed_on_dossier = true;

  // Downloaded with a click: the signed PDF, named by its number.
  const kept = path.join(ARTIFACTS, 'results', `${CODE}-ket-qua.pdf`);
  const { bytes, name } = await download(page, item.getByRole('link', { name: DOWNLOAD }), kept);
  assert.equal(name, `ket-qua-${NUMBER.replaceAll('/', '-')}.pdf`);
  const digest = sha256(bytes);
  result.sha256 = digest;
  result.downloaded = true;

  // The verification page the QR code leads to: valid, who signed what, no personal data.
  await item.getByRole('link', { name: 'Trang xác thực' }).click();
  await page.waitForURL(`${TA}/ket-qua/${ID}`);
  await page.getByRole('heading', { name: 'Xác thực kết quả giải quyết thủ tục hành chính', level: 1 }).waitFor();
  assert.equal(squash(await page.locator('#verdict-h').innerText()), 'Còn hiệu lực Kết quả còn hiệu lực.');
  assert.equal(await fact(page, 'Số'), NUMBER);
  assert.equal(await fact(page, 'Cơ quan ký'), ISSUER);
  assert.equal(await fact(page, 'Thủ tục'), `${PROCEDURE} (1.000105)`);
  assert.equal(squash(await page.locator('main dl.facts code').innerText()), digest, 'the file\'s digest');
  assert.match(await fact(page, 'Ký bởi'), /So Noi vu Ha Noi/);
  const main = await page.locator('main').innerText();
  assert.deepEqual(PRIVATE.filter((s) => main.includes(s)), [], 'no personal data on the public page');
  await checkA11y(page, 'results: verification');
  await screenshot(page, 'phone/results-verification');
  result.verified_vi = true;

  // Anyone may open it, signed out, from its QR code ($QR_URL), and read it in English.
  const anon = await newContext(browser, { width: 1280 });
  const visitor = await anon.newPage();
  const visitorErrors = expectNoConsoleErrors(visitor);
  assert.equal(env('QR_URL'), `${TA}/ket-qua/${ID}`, 'the QR code leads to this page');
  await visitor.goto(env('QR_URL'));
  await visitor.getByRole('heading', { name: 'Xác thực kết quả giải quyết thủ tục hành chính' }).waitFor();
  await visitor.getByRole('button', { name: 'English' }).click();
  await visitor.getByRole('heading', { name: 'Verify the result of an administrative procedure', level: 1 }).waitFor();
  assert.equal(await visitor.getAttribute('html', 'lang'), 'en');
  assert.equal(new URL(visitor.url()).pathname, `/ket-qua/${ID}`, 'the same page');
  assert.equal(squash(await visitor.locator('#verdict-h').innerText()), 'Valid The result is valid.');
  assert.equal(await fact(visitor, 'Number'), NUMBER);
  assert.equal(await fact(visitor, 'Signed by the agency'), 'Unit TA');
  assert.equal(await fact(visitor, 'Procedure'), 'Work permit for foreign workers (1.000105)');
  const body = await visitor.locator('body').innerText();
  const leaked = PRIVATE.filter((s) => body.includes(s) || main.includes(s));
  await checkA11y(visitor, 'results: verification (en)');
  await screenshot(visitor, 'desktop/results-verification-en');
  visitorErrors();
  await anon.close();
  result.verified_en = true;
  result.no_personal_data = leaked.length === 0;

  // The wallet: the result and the accepted application, each downloadable.
  await page.getByRole('link', { name: 'Kho dữ liệu', exact: true }).click();
  await page.waitForURL(`${TA}/kho-du-lieu`);
  await page.getByRole('heading', { name: 'Kho dữ liệu của tôi', level: 1 }).waitFor();
  const rows = page.locator('main table tbody tr');
  const row = rows.filter({ hasText: NUMBER });
  assert.equal(await row.count(), 1, 'the result is in the wallet');
  const cells = (await row.locator('td').allInnerTexts()).map(squash);
  assert.deepEqual(cells.slice(0, 4), [`${PROCEDURE} Số ${NUMBER}`, 'Kết quả', ISSUER, CODE]);
  assert.equal(cells[4], hanoiDate());
  const application = rows.filter({ hasText: 'Đơn đề nghị' });
  assert.equal(await application.count(), 1, 'the accepted application too');
  assert.equal(squash(await application.locator('td').nth(1).innerText()), 'Giấy tờ đã nộp');
  await checkA11y(page, 'results: wallet');
  await screenshot(page, 'phone/results-wallet');
  const walletLink = row.getByRole('link', { name: /^Tải về/ });
  assert.match(await walletLink.getAttribute('href'), /^\/kho-du-lieu\/[0-9a-f-]{36}$/);
  const fromWallet = await download(page, walletLink,
    path.join(ARTIFACTS, 'results', `${CODE}-kho-du-lieu.pdf`));
  assert.equal(sha256(fromWallet.bytes), digest, 'the wallet holds the same signed file');
  result.in_wallet = true;

  // At tinh-b (signed in silently), the extension: the result offered first, suggested.
  await page.goto(`${TB}/thu-tuc/${env('EXTENSION')}/nop`);
  await page.waitForURL(`${TB}/thu-tuc/${env('EXTENSION')}/nop`);
  await toReview(page);
  const { select, options } = await walletOffers(page);
  assert.equal(options[0], '— Không chọn —');
  assert.equal(options[1], `${PROCEDURE} — Số ${NUMBER} (${ISSUER}, ${hanoiDate()}) — đề xuất`);
  assert.equal(options.filter((o) => o.includes('đề xuất')).length, 1, 'only the result is suggested');
  assert.ok(options.slice(2).some((o) => o.startsWith('Đơn đề nghị (')), `the application is offered too: ${options}`);
  assert.ok(!options.some((o) => o.startsWith('Ảnh 4x6')), 'no picture where a PDF is asked for');
  await checkA11y(page, 'results: review with the wallet');
  await screenshot(page, 'phone/results-review');
  result.suggested = true;

  // Chosen instead of an upload; filed with the copy, whose origin the dossier page gives.
  await select.selectOption({ index: 1 });
  assert.equal(await submit(page, () => page.getByRole('button', { name: 'Nộp hồ sơ' }).click()), 200);
  await page.waitForURL(/\/ho-so\/TB-[A-Z0-9-]+\?moi=1$/);
  const ext = new URL(page.url()).pathname.split('/').pop();
  await page.getByText('Đã nộp hồ sơ thành công.').waitFor();
  const file = page.locator('main li', { has: page.getByRole('link', { name, exact: true }) });
  assert.equal(await file.count(), 1, 'the copied result is the dossier\'s file');
  assert.match(squash(await file.innerText()),
    new RegExp(`Lấy từ kho dữ liệu của người nộp: ${ISSUER}, hồ sơ ${CODE} — kết quả số ${NUMBER}, đã xác thực chữ ký`));
  await checkA11y(page, 'results: the extension filed');
  Object.assign(result, { applied: true, extension_code: ext });

  await citizen.context.storageState({ path: env('CITIZEN_STATE') });
  citizen.noConsoleErrors();
}

// --- PHASE=receiver ----------------------------------------------------------------------------
async function receiverPhase(browser, result) {
  const EXT = env('EXT_CODE');
  const NUMBER = env('NUMBER');
  const officer = await signedIn(browser, `${TB}/can-bo/ho-so/${EXT}`, env('OFFICER_B_EMAIL'), env('OFFICER_B_TOTP'));
  const { page } = officer;
  await processing(page, TB, EXT);
  const files = page.locator('section[aria-labelledby="files-h"] li');
  assert.equal(await files.count(), 1, 'one file');
  const text = squash(await files.first().innerText());
  assert.ok(text.startsWith(`ket-qua-${NUMBER.replaceAll('/', '-')}.pdf`), text);
  assert.match(text,
    new RegExp(`Lấy từ kho dữ liệu của người nộp: ${ISSUER}, hồ sơ ${CODE} — kết quả số ${NUMBER}, đã xác thực chữ ký; người nộp chọn lúc \\d{2}:\\d{2} \\d{2}/\\d{2}/\\d{4}$`));
  await checkA11y(page, 'results: provenance at the receiving agency');
  await screenshot(page, 'desktop/results-provenance');
  result.provenance_shown = true;

  const got = await fetched(page, await files.first().getByRole('link').getAttribute('href'));
  assert.equal(got.status, 200);
  assert.equal(got.type, 'application/pdf');
  assert.equal(sha256(got.bytes), env('SHA256'), 'the copy is the signed file');
  result.copy_downloaded = true;
  officer.noConsoleErrors();
}

// --- PHASE=revoke ------------------------------------------------------------------------------
async function revokePhase(browser, result) {
  const NUMBER = env('NUMBER');
  const ID = env('RESULT_ID');
  const officer = await restored(browser, env('OFFICER_STATE'));
  const { page } = officer;
  await processing(page, TA, CODE);
  const section = resultsSection(page);
  const form = () => section.locator('form', { has: page.getByRole('button', { name: 'Thu hồi', exact: true }) });
  await form().getByRole('heading', { name: `Thu hồi kết quả ${NUMBER}` }).waitFor();

  // No reason: refused, still valid.
  assert.equal(await submit(page, () => form().getByRole('button', { name: 'Thu hồi', exact: true }).click()), 422);
  await page.locator('#error-summary').getByText('Lý do thu hồi: bắt buộc').waitFor();
  assert.equal(squash(await (await listedResult(page)).item.locator('.badge').innerText()), 'Còn hiệu lực');
  await checkA11y(page, 'results: revocation without a reason');
  result.empty_reason_refused = true;

  const before = hanoiDate();
  await form().getByLabel('Lý do thu hồi').fill(REASON);
  assert.equal(await submit(page, () => form().getByRole('button', { name: 'Thu hồi', exact: true }).click()), 200);
  const days = new Set([before, hanoiDate()]);
  await page.getByText('Đã thu hồi kết quả.').waitFor();
  const { item, text } = await listedResult(page);
  assert.equal(squash(await item.locator('.badge').innerText()), 'Đã thu hồi');
  assert.match(text, new RegExp(`Lý do thu hồi: ${REASON}`));
  assert.equal(await form().count(), 0, 'nothing left to revoke');
  result.revoked = true;
  // A corrected result may be issued now.
  await section.getByRole('button', { name: ISSUE, exact: true }).waitFor();
  await checkA11y(page, 'results: revoked');
  await screenshot(page, 'desktop/results-revoked');
  result.issue_form_back = true;
  officer.noConsoleErrors();

  // The public page, signed out: revoked on that day, in both languages; the reason stays inside.
  const anon = await newContext(browser, { width: 1280 });
  const visitor = await anon.newPage();
  const visitorErrors = expectNoConsoleErrors(visitor);
  await visitor.goto(`${TA}/ket-qua/${ID}`);
  const verdict = squash(await visitor.locator('#verdict-h').innerText());
  const said = /^Đã thu hồi Kết quả này đã bị thu hồi ngày (\d{2}\/\d{2}\/\d{4}); văn bản không còn giá trị\.$/.exec(verdict);
  assert.ok(said && days.has(said[1]), verdict);
  assert.equal(await fact(visitor, 'Số'), NUMBER);
  assert.ok(!(await visitor.locator('main').innerText()).includes(REASON), 'the reason is not public');
  await checkA11y(visitor, 'results: verification, revoked');
  await screenshot(visitor, 'desktop/results-verification-revoked');
  await visitor.getByRole('button', { name: 'English' }).click();
  await visitor.getByRole('heading', { name: 'Verify the result of an administrative procedure' }).waitFor();
  const english = /^Revoked This result was revoked on (\d{1,2} [A-Z][a-z]{2} \d{4}); the document is no longer valid\.$/
    .exec(squash(await visitor.locator('#verdict-h').innerText()));
  assert.ok(english && [...days].map(englishDate).includes(english[1]), english?.[0]);
  await checkA11y(visitor, 'results: verification, revoked (en)');
  visitorErrors();
  await anon.close();
  result.verification_revoked = true;

  // The applicant's wallet marks it; tinh-b's review page no longer offers it.
  const citizen = await restored(browser, env('CITIZEN_STATE'), 360);
  const own = citizen.page;
  await own.goto(`${TA}/kho-du-lieu`);
  await own.getByRole('heading', { name: 'Kho dữ liệu của tôi', level: 1 }).waitFor();
  const row = own.locator('main table tbody tr').filter({ hasText: NUMBER });
  assert.equal(squash(await row.locator('td').nth(1).innerText()), 'Kết quả Đã thu hồi');
  await checkA11y(own, 'results: wallet with a revoked result');
  result.wallet_revoked = true;
  await own.goto(`${TB}/thu-tuc/${env('EXTENSION')}/nop`);
  await toReview(own);
  const { options } = await walletOffers(own);
  assert.ok(!options.some((o) => o.includes(NUMBER)), `the revoked result is not offered: ${options}`);
  assert.ok(options.some((o) => o.startsWith('Đơn đề nghị (')), 'the application still is');
  result.no_longer_offered = true;
  citizen.noConsoleErrors();
}

const browser = await launch();
const result = { phase: PHASE, code: CODE };
try {
  if (PHASE === 'issue') await issuePhase(browser, result);
  else if (PHASE === 'citizen') await citizenPhase(browser, result);
  else if (PHASE === 'receiver') await receiverPhase(browser, result);
  else if (PHASE === 'revoke') await revokePhase(browser, result);
  else throw new Error(`PHASE is issue, citizen, receiver or revoke, not ${PHASE}`);
} catch (e) {
  // Where every page was when it failed, to read in the test's output.
  for (const context of browser.contexts()) {
    for (const p of context.pages()) {
      const text = await p.innerText('body').catch(() => '');
      console.error(`--- ${p.url()}\n${text.slice(0, 1500)}`);
      await screenshot(p, `failure/results-${PHASE}-${browser.contexts().indexOf(context)}-${Date.now()}`).catch(() => {});
    }
  }
  throw e;
} finally {
  await browser.close();
}
console.log(`RESULT ${JSON.stringify(result)}`);
