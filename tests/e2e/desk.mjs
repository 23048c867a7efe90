// The one-stop desk (Bộ phận một cửa) end to end, in Debian's Chromium: an officer registers a
// walk-in applicant's dossier at the counter (step 1 refuses a wrong CCCD with what was typed
// kept, step 2 takes two scans for one document), asks for it to be completed, then receives
// it; the slips open as print pages and download as PDFs that poppler's pdftotext reads back.
// The applicant then signs up with the e-mail, CCCD and phone the desk recorded and finds the
// dossier under "Hồ sơ của tôi". axe-core checks the desk's pages; screenshots go to
// $E2E_ARTIFACTS. Run by tests/integration/browser.rs, which starts dvc and checks the database
// afterwards. Prints `RESULT {json}` last.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  checkA11y,
  expectNoConsoleErrors,
  launch,
  linkIn,
  newContext,
  screenshot,
  submit,
  totp,
  waitForMail,
} from './lib.mjs';

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

const A = env('BASE_A');
const MAILDIR = env('MAILDIR');
const PASSWORD = env('PASSWORD');
const OFFICER = env('OFFICER_EMAIL');
const OFFICER_TOTP = env('OFFICER_TOTP');
const PROCEDURE = env('PROCEDURE');
const APPLICANT_EMAIL = env('APPLICANT_EMAIL');
const ARTIFACTS = path.resolve(process.env.E2E_ARTIFACTS || 'target/e2e-artifacts');
const APPLICANT = 'Nguyễn Thị Hoà';
const CCCD = '001190012345';
const WRONG_CCCD = '999190012345'; // province 999 does not exist
const DESK_PHONE = '0987 654 321';
const SIGN_UP_PHONE = '0987654321';
const RECEIPT = 'GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ';
const COMPLETION = 'PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ';

const PDF = Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n', 'latin1');

/** The sign-in host's form; `code` for accounts with an authenticator. */
async function signIn(page, email, code) {
  await page.waitForURL(/\/oauth\/authorize/);
  await page.getByLabel('Thư điện tử').fill(email);
  await page.getByLabel('Mật khẩu', { exact: true }).fill(PASSWORD);
  if (code) await page.getByLabel('Mã xác thực').fill(code);
  await page.getByRole('button', { name: 'Đăng nhập' }).click();
}

/** A form control by its name attribute (the desk's names are JSON pointers). */
function named(page, name) {
  return page.locator(`[name="${name}"]`);
}

/** The text of the <dd> after the <dt> labelled `term` in the page's facts. */
async function fact(page, term) {
  return (await page.locator('dl.facts dt', { hasText: term }).first().locator('xpath=following-sibling::dd[1]').innerText()).trim();
}

/** The processing page's status line (the paragraph under its heading). */
async function status(page) {
  return (await page.locator('h1 + p').innerText()).trim();
}

/** dd/mm/yyyy from a date shown day first or as ISO. */
function dayFirst(shown) {
  let m = /(\d{1,2})\/(\d{1,2})\/(\d{4})/.exec(shown);
  if (m) return `${m[1].padStart(2, '0')}/${m[2].padStart(2, '0')}/${m[3]}`;
  m = /(\d{4})-(\d{2})-(\d{2})/.exec(shown);
  if (m) return `${m[3]}/${m[2]}/${m[1]}`;
  throw new Error(`not a date: ${JSON.stringify(shown)}`);
}

/**
 * Downloads a slip's PDF with the page's session, keeps it under $E2E_ARTIFACTS/desk/ and
 * returns its text as pdftotext reads it, composed (NFC) and with whitespace collapsed (table
 * cells wrap). Fetched by the page itself: *.localhost resolves in Chromium, not in Node, so
 * page.request (Node's resolver) cannot reach the tenant host.
 */
async function slipPdfText(page, href, name) {
  const got = await page.evaluate(async (url) => {
    const r = await fetch(url, { credentials: 'same-origin' });
    const bytes = new Uint8Array(await r.arrayBuffer());
    let binary = '';
    for (const b of bytes) binary += String.fromCharCode(b);
    return { status: r.status, type: r.headers.get('content-type'), body: btoa(binary) };
  }, href);
  assert.equal(got.status, 200, `${href}: ${got.status}`);
  assert.equal(got.type, 'application/pdf');
  const bytes = Buffer.from(got.body, 'base64');
  assert.equal(bytes.subarray(0, 5).toString('latin1'), '%PDF-');
  const file = path.join(ARTIFACTS, 'desk', `${name}.pdf`);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, bytes);
  let text;
  try {
    text = execFileSync('pdftotext', ['-enc', 'UTF-8', file, '-'], { encoding: 'utf8' });
  } catch (e) {
    if (e.code === 'ENOENT') {
      throw new Error('pdftotext not found: install poppler-utils (ensure_test_tools in scripts/services.sh)');
    }
    throw e;
  }
  return text.normalize('NFC').replace(/\s+/g, ' ');
}

/** The slips section's links for the slip titled `title`: [html href, pdf href]. */
async function slipLinks(page, title) {
  const item = page.locator('section[aria-labelledby="slips-h"] li', { hasText: title });
  await item.waitFor();
  const html = await item.getByRole('link', { name: title, exact: true }).getAttribute('href');
  const pdf = await item.getByRole('link', { name: 'PDF', exact: true }).getAttribute('href');
  assert.equal(pdf, `${html}.pdf`);
  return [html, pdf];
}

const browser = await launch();
const result = {};
try {
  // --- The officer at the counter, on a desktop ------------------------------------------
  const officer = await (await newContext(browser, { width: 1280 })).newPage();
  // The refused step answers 422 on purpose; Chromium logs any 4xx document as an error.
  const noConsoleErrors = expectNoConsoleErrors(officer, { ignore: [/status of 422/] });
  await officer.goto(`${A}/can-bo`);
  await signIn(officer, OFFICER, totp(OFFICER_TOTP));
  await officer.waitForURL(`${A}/can-bo`);
  await officer.getByRole('link', { name: 'Tiếp nhận hồ sơ trực tiếp' }).first().click();
  await officer.waitForURL(`${A}/can-bo/tiep-nhan`);
  await officer.getByRole('heading', { name: 'Tiếp nhận hồ sơ trực tiếp' }).waitFor();
  await checkA11y(officer, 'desk: procedures');
  await officer.getByRole('row', { name: new RegExp(PROCEDURE.replace(/\./g, '\\.')) }).getByRole('link').click();
  await officer.waitForURL(`${A}/can-bo/tiep-nhan/${PROCEDURE}`);

  // Step 1: the channel (at the counter by default), the applicant, the procedure's form.
  const counter = officer.getByLabel('Trực tiếp tại Bộ phận một cửa');
  assert.equal(await counter.getAttribute('value'), 'counter');
  assert.ok(await counter.isChecked(), 'at the counter by default');
  for (const [name, label] of [
    ['/applicant/full_name', 'Họ và tên'],
    ['/applicant/id_number', 'Số CCCD hoặc mã số thuế'],
    ['/applicant/phone', 'Số điện thoại'],
    ['/applicant/email', 'Thư điện tử (nếu có)'],
  ]) {
    const id = await named(officer, name).getAttribute('id');
    const text = (await officer.locator(`label[for="${id}"]`).innerText()).replace(/\s*\*$/, '').trim();
    assert.equal(text, label, name);
  }
  await checkA11y(officer, 'desk: step 1');
  await screenshot(officer, 'desktop/desk-intake');

  await named(officer, '/applicant/full_name').fill(APPLICANT);
  await named(officer, '/applicant/id_number').fill(WRONG_CCCD);
  await named(officer, '/applicant/phone').fill(DESK_PHONE);
  await named(officer, '/applicant/email').fill(APPLICANT_EMAIL);
  await officer.getByLabel('Ngôn ngữ của phiếu và thông báo').selectOption('vi');
  await named(officer, '/form/ho_ten').fill(APPLICANT);
  await named(officer, '/form/ngay_sinh').fill('01/05/1990');

  // A CCCD whose province code does not exist: 422, the error on its field, the rest kept.
  assert.equal(await submit(officer, () => officer.getByRole('button', { name: 'Tiếp tục' }).click()), 422);
  const idField = named(officer, '/applicant/id_number');
  assert.equal(await idField.getAttribute('aria-invalid'), 'true');
  const idError = officer.locator(`#${await idField.getAttribute('id')}-error`);
  assert.match(await idError.innerText(), /CCCD/);
  assert.ok((await idField.getAttribute('aria-describedby')).split(/\s+/).includes(await idError.getAttribute('id')),
    'the error is tied to its field');
  assert.equal(await officer.locator('.field-error').count(), 1, 'only the CCCD is wrong');
  assert.equal(await idField.inputValue(), WRONG_CCCD);
  assert.equal(await named(officer, '/applicant/full_name').inputValue(), APPLICANT);
  assert.equal(await named(officer, '/applicant/phone').inputValue(), DESK_PHONE);
  assert.equal(await named(officer, '/applicant/email').inputValue(), APPLICANT_EMAIL);
  assert.equal(await named(officer, '/form/ho_ten').inputValue(), APPLICANT);
  assert.equal(await named(officer, '/form/ngay_sinh').inputValue(), '01/05/1990');
  assert.ok(await counter.isChecked());
  await checkA11y(officer, 'desk: step 1 with errors');
  await screenshot(officer, 'desktop/desk-intake-errors');
  result.refused_cccd = true;

  await idField.fill(CCCD);
  assert.equal(await submit(officer, () => officer.getByRole('button', { name: 'Tiếp tục' }).click()), 200);

  // Step 2: what was checked, and the scans: two pages of the application.
  await officer.getByRole('heading', { name: 'Giấy tờ đã scan' }).waitFor();
  assert.equal(await fact(officer, 'Số CCCD hoặc mã số thuế'), CCCD);
  assert.equal(await fact(officer, 'Hình thức nộp'), 'Trực tiếp tại Bộ phận một cửa');
  await officer.getByText('01/05/1990').first().waitFor();
  await checkA11y(officer, 'desk: scans');
  await screenshot(officer, 'desktop/desk-scans');
  const doc0 = officer.locator('input[name="doc.0"]');
  assert.equal(await doc0.getAttribute('multiple'), '');
  await doc0.setInputFiles([
    { name: 'don-trang-1.pdf', mimeType: 'application/pdf', buffer: PDF },
    { name: 'don-trang-2.pdf', mimeType: 'application/pdf', buffer: PDF },
  ]);
  assert.equal(await submit(officer, () => officer.getByRole('button', { name: 'Ghi nhận hồ sơ' }).click()), 200);
  await officer.waitForURL(/\/can-bo\/ho-so\/TA-[A-Z0-9-]+(\?|$)/);
  const code = new URL(officer.url()).pathname.split('/').pop();
  assert.match(code, /^TA-/);
  await officer.getByRole('heading', { name: `Xử lý hồ sơ ${code}` }).waitFor();
  result.code = code;
  assert.equal(await fact(officer, 'Hình thức nộp'), 'Trực tiếp tại Bộ phận một cửa');
  assert.equal(await fact(officer, 'Thư điện tử (nếu có)'), APPLICANT_EMAIL);
  const files = officer.locator('section[aria-labelledby="files-h"] li');
  assert.equal(await files.count(), 2, 'both scans are attached');
  await checkA11y(officer, 'desk: processing (new)');
  await screenshot(officer, 'desktop/desk-processing-new');

  // Completion asked: the photo is missing.
  await officer.locator('#missing-request_completion').fill('Ảnh 4x6');
  assert.equal(await submit(officer, () => officer.getByRole('button', { name: 'Yêu cầu bổ sung, hoàn thiện hồ sơ' }).click()), 200);
  await officer.getByText('Đã cập nhật hồ sơ.').waitFor();
  assert.match(await status(officer), /Chờ hoàn thiện hồ sơ/);
  const [completionHtml, completionPdf] = await slipLinks(officer, COMPLETION);
  await checkA11y(officer, 'desk: processing (completion asked)');
  await screenshot(officer, 'desktop/desk-processing-incomplete');

  // The slip as a print page, with its QR code for the public lookup.
  const slipPage = await officer.goto(new URL(completionHtml, officer.url()).href);
  assert.equal(slipPage.status(), 200);
  await officer.getByText(COMPLETION).first().waitFor();
  const qr = officer.locator('figure.slip-qr svg.qr');
  assert.equal(await qr.count(), 1, 'the QR code');
  assert.match(await qr.locator('path').getAttribute('d'), /^M\d/, 'the QR code has modules');
  await officer.getByText(code).first().waitFor();
  await checkA11y(officer, 'desk: completion slip');
  await screenshot(officer, 'desktop/desk-slip-completion');
  const completionText = await slipPdfText(officer, completionPdf, `${code}-bo-sung`);
  assert.ok(completionText.includes(COMPLETION), completionText);
  assert.ok(completionText.includes(code), completionText);
  assert.ok(completionText.includes('Ảnh 4x6'), completionText);

  // Received: the clock starts, the appointment is set.
  await officer.goto(`${A}/can-bo/ho-so/${code}`);
  assert.equal(await submit(officer, () => officer.getByRole('button', { name: 'Tiếp nhận', exact: true }).click()), 200);
  await officer.getByText('Đã cập nhật hồ sơ.').waitFor();
  assert.match(await status(officer), /Đã tiếp nhận/);
  const due = dayFirst(await fact(officer, 'Hẹn trả kết quả'));
  result.due = due;
  const [receiptHtml, receiptPdf] = await slipLinks(officer, RECEIPT);
  await checkA11y(officer, 'desk: processing (received)');
  await screenshot(officer, 'desktop/desk-processing-received');
  const receiptText = await slipPdfText(officer, receiptPdf, `${code}-tiep-nhan`);
  for (const want of [code, due, APPLICANT, RECEIPT]) {
    assert.ok(receiptText.includes(want), `the receipt lacks ${JSON.stringify(want)}:\n${receiptText}`);
  }
  result.receipt_pdf = true;
  assert.equal((await officer.goto(new URL(receiptHtml, officer.url()).href)).status(), 200);
  await officer.getByText(RECEIPT).first().waitFor();
  await checkA11y(officer, 'desk: receipt slip');
  noConsoleErrors();

  // The applicant hears of it at the address the desk recorded.
  await waitForMail({ maildir: MAILDIR, to: APPLICANT_EMAIL, subject: `${code} đã được tiếp nhận`, timeoutMs: 20000 });
  result.receipt_mailed = true;

  // --- The applicant signs up at home, on a phone ----------------------------------------
  const page = await (await newContext(browser, { width: 360 })).newPage();
  await page.goto(`${A}/`);
  await page.getByRole('link', { name: 'Đăng nhập' }).click();
  await page.waitForURL(/\/oauth\/authorize/);
  await page.getByRole('link', { name: 'Tạo tài khoản' }).click();
  await page.getByLabel('Họ và tên').fill(APPLICANT);
  await page.getByLabel('Thư điện tử').fill(APPLICANT_EMAIL);
  await page.getByLabel('Mật khẩu').fill(PASSWORD);
  await page.getByLabel('Số định danh cá nhân').fill(CCCD);
  await page.getByLabel('Số điện thoại').fill(SIGN_UP_PHONE);
  const before = Date.now() - 2000;
  assert.equal(await submit(page, () => page.getByRole('button', { name: 'Đăng ký' }).click()), 200);
  await page.getByRole('heading', { name: 'Kiểm tra hộp thư' }).waitFor();
  const mail = await waitForMail({
    maildir: MAILDIR, to: APPLICANT_EMAIL, subject: 'Xác nhận địa chỉ', after: before, timeoutMs: 20000,
  });
  await page.goto(linkIn(mail.text, '/verify-email'));
  await page.getByRole('button', { name: 'Xác nhận' }).click();
  await page.getByRole('heading', { name: 'Đã xác nhận' }).waitFor();

  await page.goto(`${A}/`);
  await page.getByRole('link', { name: 'Đăng nhập' }).click();
  await signIn(page, APPLICANT_EMAIL);
  await page.waitForURL(`${A}/`);
  await page.getByRole('link', { name: 'Hồ sơ của tôi' }).click();
  await page.waitForURL(`${A}/ho-so`);
  await page.getByRole('status').filter({ hasText: 'nay thuộc tài khoản của bạn' }).waitFor();
  await page.getByRole('cell', { name: code }).waitFor();
  await checkA11y(page, 'my dossiers (claimed)');
  await screenshot(page, 'phone/desk-claimed');
  result.claimed = true;
  await page.getByRole('link', { name: code }).click();
  await page.waitForURL(`${A}/ho-so/${code}`);
  const mine = page.locator('section[aria-labelledby="slips-h"]').getByRole('link', { name: RECEIPT, exact: true });
  await mine.waitFor();
  assert.equal(await mine.getAttribute('href'), receiptHtml);
  await checkA11y(page, 'dossier (claimed)');
  await screenshot(page, 'phone/desk-dossier');
  // The applicant's own copy of the receipt.
  const own = await slipPdfText(page, receiptPdf, `${code}-tiep-nhan-applicant`);
  assert.ok(own.includes(code) && own.includes(RECEIPT), own);
  result.applicant_sees_receipt = true;
} catch (e) {
  // Where every page was when it failed, to read in the test's output.
  for (const context of browser.contexts()) {
    for (const p of context.pages()) {
      const text = await p.innerText('body').catch(() => '');
      console.error(`--- ${p.url()}\n${text.slice(0, 1200)}`);
      await screenshot(p, `failure/desk-${context.pages().indexOf(p)}-${Date.now()}`).catch(() => {});
    }
  }
  throw e;
} finally {
  await browser.close();
}
console.log(`RESULT ${JSON.stringify(result)}`);
