// The portal end to end, in Debian's Chromium: a citizen signs up, confirms the address from
// the real SMTP server's mailbox, applies with an upload on tenant A (after the form refused
// bad input), is signed in silently on tenant B, an officer and a leader of A process the
// dossier, the citizen sees the result and rates it. axe-core checks every main page in both
// languages; screenshots go to $E2E_ARTIFACTS. Run by tests/integration/browser.rs, which
// starts dvc and checks the database afterwards. Prints `RESULT {json}` last.

import assert from 'node:assert/strict';
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
const B = env('BASE_B');
const MAILDIR = env('MAILDIR');
const CITIZEN = env('CITIZEN_EMAIL');
const PASSWORD = env('PASSWORD');
const OFFICER = env('OFFICER_EMAIL');
const OFFICER_TOTP = env('OFFICER_TOTP');
const LEADER = env('LEADER_EMAIL');
const LEADER_TOTP = env('LEADER_TOTP');
const ADMIN = env('ADMIN_EMAIL');
const ADMIN_TOTP = env('ADMIN_TOTP');
const ISSUER = env('ISSUER');
const OPERATOR = env('OPERATOR_EMAIL');
const OPERATOR_TOTP = env('OPERATOR_TOTP');
const MINISTRY = env('BASE_MINISTRY');
const MINISTRY_LEADER = env('MINISTRY_LEADER_EMAIL');
const MINISTRY_LEADER_TOTP = env('MINISTRY_LEADER_TOTP');
const PROCEDURE = env('PROCEDURE');
const PHONE = '0912 345 678';
const NEW_OFFICER = 'hang@example.vn';
const MEMBER = 'canbo.a2@example.vn';

const PDF = Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n', 'latin1');
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
// A whole 1×1 picture, for the logo (the stub above is only what the type sniffer needs).
const LOGO = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64');

/** The sign-in host's form; `code` for accounts with an authenticator. */
async function signIn(page, email, code) {
  await page.waitForURL(/\/oauth\/authorize/);
  await page.getByLabel('Thư điện tử').fill(email);
  await page.getByLabel('Mật khẩu', { exact: true }).fill(PASSWORD);
  if (code) await page.getByLabel('Mã xác thực').fill(code);
  await page.getByRole('button', { name: 'Đăng nhập' }).click();
}

const browser = await launch();
const result = {};
try {
  // --- A citizen on a phone ------------------------------------------------------------------
  const phone = await newContext(browser, { width: 360 });
  const page = await phone.newPage();
  // Refused forms answer 422 on purpose; Chromium logs any 4xx document as an error.
  const noConsoleErrors = expectNoConsoleErrors(page, { ignore: [/status of 422/] });

  await page.goto(`${A}/`);
  assert.equal(await page.getAttribute('html', 'lang'), 'vi');
  await checkA11y(page, 'home (vi)');
  await screenshot(page, 'phone/home');
  const desktop = await (await newContext(browser, { width: 1280 })).newPage();
  await desktop.goto(`${A}/`);
  await screenshot(desktop, 'desktop/home');

  await page.getByRole('link', { name: 'Đăng nhập' }).click();
  await page.waitForURL(/\/oauth\/authorize/);
  await checkA11y(page, 'sign-in');
  await screenshot(page, 'phone/sign-in');
  await page.getByRole('link', { name: 'Tạo tài khoản' }).click();
  await checkA11y(page, 'sign-up');

  // A weak password is refused, with what was typed kept.
  await page.getByLabel('Họ và tên').fill('Nguyễn Thị Thử');
  await page.getByLabel('Thư điện tử').fill(CITIZEN);
  await page.getByLabel('Mật khẩu').fill('ngan');
  assert.equal(await submit(page, () => page.getByRole('button', { name: 'Đăng ký' }).click()), 422);
  await page.getByText('Mật khẩu quá yếu').first().waitFor();
  assert.equal(await page.getByLabel('Thư điện tử').inputValue(), CITIZEN);
  await checkA11y(page, 'sign-up with errors');
  const before = Date.now() - 2000;
  await page.getByLabel('Mật khẩu').fill(PASSWORD);
  assert.equal(await submit(page, () => page.getByRole('button', { name: 'Đăng ký' }).click()), 200);
  await page.getByRole('heading', { name: 'Kiểm tra hộp thư' }).waitFor();

  // The confirmation link from the real mailbox; the token is used by a button, not the link.
  const mail = await waitForMail({ maildir: MAILDIR, to: CITIZEN, after: before, timeoutMs: 20000 });
  await page.goto(linkIn(mail.text, '/verify-email'));
  await checkA11y(page, 'verify e-mail');
  await page.getByRole('button', { name: 'Xác nhận' }).click();
  await page.getByRole('heading', { name: 'Đã xác nhận' }).waitFor();

  // Sign in on A.
  await page.goto(`${A}/`);
  await page.getByRole('link', { name: 'Đăng nhập' }).click();
  await signIn(page, CITIZEN);
  await page.waitForURL(`${A}/`);
  await page.getByRole('link', { name: 'Hồ sơ của tôi' }).waitFor();

  // Find the procedure.
  await page.getByLabel('Tìm thủ tục hành chính').fill('giấy phép lao động');
  await page.getByRole('button', { name: 'Tìm kiếm' }).click();
  await page.getByRole('link', { name: /giấy phép lao động/i }).first().click();
  await page.waitForURL(`${A}/thu-tuc/${PROCEDURE}`);
  await checkA11y(page, 'procedure');
  await screenshot(page, 'phone/procedure');

  // Apply: an empty form is refused with every error at once, tied to its field.
  await page.getByRole('link', { name: 'Nộp hồ sơ trực tuyến' }).click();
  await checkA11y(page, 'apply');
  assert.equal(await submit(page, () => page.getByRole('button', { name: 'Tiếp tục' }).click()), 422);
  const errors = page.locator('.field-error');
  assert.ok((await errors.count()) >= 3, 'phone, name and date of birth are reported');
  const name = page.getByLabel('Họ và tên');
  assert.equal(await name.getAttribute('aria-invalid'), 'true');
  await checkA11y(page, 'apply with errors');
  await screenshot(page, 'phone/apply-errors');

  // What was typed comes back; a wrong phone and passport number are still refused.
  await name.fill('Nguyễn Văn Lao Động');
  await page.getByLabel('Số điện thoại nhận thông báo').fill('12345');
  await page.getByLabel('Số hộ chiếu').fill('b12');
  assert.equal(await submit(page, () => page.getByRole('button', { name: 'Tiếp tục' }).click()), 422);
  assert.equal(await page.getByLabel('Họ và tên').inputValue(), 'Nguyễn Văn Lao Động');
  assert.equal(await page.getByLabel('Số hộ chiếu').getAttribute('aria-invalid'), 'true');

  await page.getByLabel('Số điện thoại nhận thông báo').fill(PHONE);
  await page.getByLabel('Ngày sinh').fill('01/05/1990');
  await page.getByLabel('Số hộ chiếu').fill('B1234567');
  assert.equal(await submit(page, () => page.getByRole('button', { name: 'Tiếp tục' }).click()), 200);
  await page.getByRole('heading', { name: 'Xem lại và đính kèm giấy tờ' }).waitFor();
  await page.getByText('Nguyễn Văn Lao Động').waitFor();
  await page.getByText('01/05/1990').waitFor(); // typed day first, shown day first (stored ISO)
  await checkA11y(page, 'review');

  // A picture where a PDF is required is refused and nothing is kept; then the PDF.
  await page.locator('#doc-0').setInputFiles({ name: 'don.png', mimeType: 'image/png', buffer: PNG });
  assert.equal(await submit(page, () => page.getByRole('button', { name: 'Nộp hồ sơ' }).click()), 422);
  assert.equal(await page.locator('#doc-0').getAttribute('aria-invalid'), 'true');
  result.refused_upload = true;
  await page.locator('#doc-0').setInputFiles({ name: 'don-de-nghi.pdf', mimeType: 'application/pdf', buffer: PDF });
  assert.equal(await submit(page, () => page.getByRole('button', { name: 'Nộp hồ sơ' }).click()), 200);
  await page.waitForURL(/\/ho-so\/[A-Z0-9-]+\?moi=1$/);
  const code = new URL(page.url()).pathname.split('/').pop();
  result.code = code;
  await page.getByText('Đã nộp hồ sơ thành công.').waitFor();
  await checkA11y(page, 'dossier (new)');
  await screenshot(page, 'phone/dossier');

  // The fee, paid at the (sandbox) gateway; back on the dossier page, checked with the gateway.
  await page.getByRole('button', { name: 'Thanh toán trực tuyến' }).click();
  await page.getByRole('button', { name: 'Thanh toán / Pay' }).click();
  await page.waitForURL(new RegExp(`/ho-so/${code}\\?ok=thanh-toan$`));
  await page.getByText('Đã thanh toán lệ phí.').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Thanh toán trực tuyến' }).count(), 0);
  result.paid = true;

  // Signed in on B at once: no form, the sign-in host knows the browser.
  await page.goto(`${B}/`);
  await page.getByRole('link', { name: 'Đăng nhập' }).click();
  await page.waitForURL(`${B}/`);
  await page.getByRole('link', { name: 'Hồ sơ của tôi' }).click();
  await page.getByRole('cell', { name: code }).waitFor();
  await checkA11y(page, 'my dossiers (on B)');
  result.silent_sign_in = true;
  noConsoleErrors();

  // --- The officer and the leader of A, on desktops ---------------------------------------
  const officer = await (await newContext(browser, { width: 1280 })).newPage();
  await officer.goto(`${A}/can-bo`);
  await signIn(officer, OFFICER, totp(OFFICER_TOTP));
  await officer.waitForURL(`${A}/can-bo`);
  await checkA11y(officer, 'inbox');
  await screenshot(officer, 'desktop/inbox');
  await officer.getByLabel(`Chọn hồ sơ ${code}`).check();
  await officer.getByRole('button', { name: 'Tiếp nhận các hồ sơ đã chọn' }).click();
  await officer.getByText('Đã xử lý 1 hồ sơ.').waitFor();
  await officer.getByRole('link', { name: code }).click();
  await checkA11y(officer, 'processing');

  // A supplement round: the officer asks for the photo, the citizen sends it on the same
  // dossier (a wrong file first, refused), the officer goes on.
  await officer.getByRole('button', { name: 'Bắt đầu xử lý' }).click();
  await officer.getByText('Đã cập nhật hồ sơ.').waitFor();
  await officer.getByLabel('Giấy tờ, thông tin cần bổ sung').fill('Ảnh 4x6 của người lao động');
  await officer.getByRole('button', { name: 'Yêu cầu bổ sung' }).click();
  await officer.getByText('Đã cập nhật hồ sơ.').waitFor();
  await page.goto(`${A}/ho-so/${code}`);
  await page.getByRole('heading', { name: 'Cần bổ sung hồ sơ' }).waitFor();
  await page.getByText('Ảnh 4x6 của người lao động').waitFor();
  await checkA11y(page, 'dossier (supplement requested)');
  await page.locator('#doc-1').setInputFiles({ name: 'anh.pdf', mimeType: 'application/pdf', buffer: PDF });
  assert.equal(await submit(page, () => page.getByRole('button', { name: 'Gửi bổ sung' }).click()), 422);
  assert.equal(await page.locator('#doc-1').getAttribute('aria-invalid'), 'true');
  await page.locator('#doc-1').setInputFiles({ name: 'anh.png', mimeType: 'image/png', buffer: PNG });
  await page.getByLabel('Ghi chú cho cán bộ (không bắt buộc)').fill('Đã bổ sung ảnh.');
  assert.equal(await submit(page, () => page.getByRole('button', { name: 'Gửi bổ sung' }).click()), 200);
  await page.getByText('Đã gửi phần bổ sung.').waitFor();
  await officer.reload();
  await officer.getByRole('button', { name: 'Bắt đầu xử lý' }).click();
  await officer.getByText('Đã cập nhật hồ sơ.').waitFor();
  await screenshot(officer, 'desktop/processing');

  const leader = await (await newContext(browser, { width: 1280 })).newPage();
  await leader.goto(`${A}/can-bo/ho-so/${code}`);
  await signIn(leader, LEADER, totp(LEADER_TOTP));
  await leader.waitForURL(`${A}/can-bo/ho-so/${code}`);
  await leader.getByLabel('Ghi chú').first().fill('Đủ điều kiện cấp giấy phép.');
  await leader.getByRole('button', { name: 'Phê duyệt' }).click();
  await leader.getByText('Đã cập nhật hồ sơ.').waitFor();
  await leader.getByRole('link', { name: 'Bảng điều hành' }).click();
  await leader.getByRole('heading', { name: /Tình hình giải quyết hồ sơ năm/ }).waitFor();
  await checkA11y(leader, 'dashboard');

  // The officer's page is stale now (the leader acted): acting on it is refused kindly.
  await officer.getByLabel('Giấy tờ, thông tin cần bổ sung').fill('Bản sao hộ chiếu');
  assert.equal(await submit(officer, () => officer.getByRole('button', { name: 'Yêu cầu bổ sung' }).click()), 409);
  await officer.getByText('Hồ sơ vừa được cập nhật').first().waitFor();
  await officer.reload();
  await officer.getByRole('button', { name: 'Trả kết quả' }).click();
  await officer.getByText('Đã cập nhật hồ sơ.').waitFor();

  // --- The citizen sees the result and rates it --------------------------------------------
  await page.goto(`${A}/ho-so/${code}`);
  await page.getByText('Đã trả kết quả').first().waitFor();
  await checkA11y(page, 'dossier (returned)');
  await page.getByRole('button', { name: 'Gửi đánh giá' }).click();
  await page.getByText('Cảm ơn bạn đã đánh giá.').waitFor();
  await screenshot(page, 'phone/dossier-returned');

  // --- English, remembered by a cookie ------------------------------------------------------
  await page.getByRole('button', { name: 'English' }).click();
  await page.getByRole('heading', { name: `Dossier ${code}` }).waitFor();
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  await checkA11y(page, 'dossier (en)');
  for (const [path, label] of [['/', 'home'], ['/ho-so', 'my dossiers'], ['/tra-cuu', 'lookup'], [`/thu-tuc/${PROCEDURE}`, 'procedure'], ['/tai-khoan', 'account']]) {
    await page.goto(`${A}${path}`);
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    await checkA11y(page, `${label} (en)`);
  }
  // Notification choices on the account page: texts off, saved; no channel at all is refused
  // with a friendly page and changes nothing.
  await page.goto(`${A}/tai-khoan`);
  await page.getByLabel('Text message (SMS)').uncheck();
  await page.getByRole('button', { name: 'Save choices' }).click();
  await page.getByText('Your notification choices are saved.').waitFor();
  assert.equal(await page.getByLabel('Text message (SMS)').isChecked(), false);
  assert.equal(await page.getByLabel('E-mail', { exact: true }).isChecked(), true);
  await checkA11y(page, 'account, choices saved (en)');
  await page.getByLabel('E-mail', { exact: true }).uncheck();
  const refused = page.waitForResponse((r) => r.url().endsWith('/tai-khoan/thong-bao'));
  await page.getByRole('button', { name: 'Save choices' }).click();
  assert.equal((await refused).status(), 422);
  await page.getByText('Choose at least one channel').waitFor();
  assert.equal(await page.getByLabel('E-mail', { exact: true }).isChecked(), false);
  await checkA11y(page, 'account, no channel refused (en)');
  result.notification_choices = true;
  await page.goto(`${A}/thu-tuc/${PROCEDURE}/nop`);
  await checkA11y(page, 'apply (en)');
  await officer.getByRole('button', { name: 'English' }).click();
  await officer.getByRole('heading', { name: `Process dossier ${code}` }).waitFor();
  await checkA11y(officer, 'processing (en)');
  await officer.goto(`${A}/can-bo`);
  await checkA11y(officer, 'inbox (en)');

  // --- The tenant admin: a colour that reads badly is saved with a warning, and the portal
  // darkens it where text needs contrast (axe still passes); a malformed one is refused.
  const admin = await (await newContext(browser, { width: 1280 })).newPage();
  await admin.goto(`${A}/quan-tri`);
  await signIn(admin, ADMIN, totp(ADMIN_TOTP));
  await admin.waitForURL(`${A}/quan-tri`);
  await checkA11y(admin, 'admin');
  await admin.getByLabel('Màu chính').fill('#ffe066');
  await admin.getByRole('button', { name: 'Lưu' }).click();
  await admin.getByText('Đã lưu nhận diện của cổng.').waitFor();
  await admin.getByText('chưa đủ độ tương phản').waitFor();
  await checkA11y(admin, 'admin (pale brand)');
  await admin.goto(`${A}/`);
  await checkA11y(admin, 'home (pale brand)');
  await admin.goto(`${A}/quan-tri`);
  await admin.getByLabel('Màu chính').fill('đỏ');
  assert.equal(await submit(admin, () => admin.getByRole('button', { name: 'Lưu' }).click()), 400);
  await admin.goto(`${A}/quan-tri`);
  assert.equal(await admin.getByLabel('Màu chính').inputValue(), '#ffe066');
  // A logo: a PDF is refused, a PNG shows in the header (under an address that changes with it).
  await admin.getByLabel('Tệp biểu trưng').setInputFiles({ name: 'logo.pdf', mimeType: 'application/pdf', buffer: PDF });
  assert.equal(await submit(admin, () => admin.getByRole('button', { name: 'Tải lên' }).click()), 400);
  await admin.goto(`${A}/quan-tri`);
  await admin.getByLabel('Tệp biểu trưng').setInputFiles({ name: 'logo.png', mimeType: 'image/png', buffer: LOGO });
  await admin.getByRole('button', { name: 'Tải lên' }).click();
  await admin.getByText('Đã cập nhật biểu trưng.').waitFor();
  const logoSrc = await admin.locator('header img.logo').getAttribute('src');
  assert.match(logoSrc, /^\/assets\/logo\?v=[0-9a-f]{64}$/);
  // (fetched by the page itself: *.localhost resolves in Chromium, not in Node)
  const logo = await admin.evaluate(async (src) => {
    const r = await fetch(src);
    return [r.status, r.headers.get('content-type')];
  }, logoSrc);
  assert.deepEqual(logo, [200, 'image/png']);
  // A role for someone not yet a member becomes an invitation (nobody is signed out by a
  // stranger's grant); a member gets it at once (a role ends the member's sign-ins, so the
  // grant goes to an official not used here).
  await admin.getByLabel('Thư điện tử', { exact: true }).last().fill(NEW_OFFICER);
  await admin.getByLabel('Vai trò', { exact: true }).selectOption('officer');
  await admin.getByRole('button', { name: 'Giao vai trò', exact: true }).click();
  await admin.getByText('Đã gửi thư mời').waitFor();
  await admin.getByLabel('Thư điện tử', { exact: true }).last().fill(MEMBER);
  await admin.getByLabel('Vai trò', { exact: true }).selectOption('leader');
  await admin.getByRole('button', { name: 'Giao vai trò', exact: true }).click();
  await admin.getByText('Đã giao vai trò').waitFor();
  await admin.getByRole('cell', { name: MEMBER, exact: true }).first().waitFor();
  // An invitation by mail for someone without the role yet, and a domain of the tenant's own
  // waiting for its TXT record.
  await admin.getByLabel('Thư điện tử của người được mời').fill('moi.canbo@example.vn');
  await admin.getByLabel('Vai trò được mời').selectOption('leader');
  await admin.getByRole('button', { name: 'Gửi lời mời' }).click();
  await admin.getByText('Đã gửi thư mời').waitFor();
  await admin.getByText(/moi\.canbo@example\.vn — Lãnh đạo/).waitFor();
  await admin.getByLabel('Tên miền', { exact: true }).fill('dichvucong.tinh-a.gov.vn');
  await admin.getByRole('button', { name: 'Đăng ký tên miền' }).click();
  await admin.getByText('Đã ghi nhận tên miền').waitFor();
  await admin.getByText('_dvc-challenge.dichvucong.tinh-a.gov.vn').waitFor();
  await checkA11y(admin, 'admin (invitation, domain)');
  await screenshot(admin, 'desktop/admin');
  result.granted = NEW_OFFICER;

  // --- The ministry's leader sees the province's dossier in the roll-up ---------------------
  const ministry = await (await newContext(browser, { width: 1280 })).newPage();
  await ministry.goto(`${MINISTRY}/lanh-dao`);
  await signIn(ministry, MINISTRY_LEADER, totp(MINISTRY_LEADER_TOTP));
  await ministry.waitForURL(`${MINISTRY}/lanh-dao`);
  const unitRow = ministry.getByRole('row', { name: /Đơn vị TA/ });
  await unitRow.waitFor();
  assert.match(await unitRow.innerText(), /Đơn vị TA\s+1\s+1/, 'one received, one resolved at the province');
  assert.equal(await ministry.locator('svg[role="img"]').count(), 5);
  // Received per intake channel: the province's one dossier came online.
  const online = ministry.getByRole('row', { name: /^Trực tuyến/ });
  assert.match(await online.innerText(), /Trực tuyến\s+1\s+100\s*%/, 'one received online, 100 %');
  await checkA11y(ministry, 'dashboard (roll-up)');
  await screenshot(ministry, 'desktop/dashboard');
  await ministry.getByRole('button', { name: 'English' }).click();
  await ministry.getByRole('heading', { name: /Dossiers in/ }).waitFor();
  await checkA11y(ministry, 'dashboard (en)');

  // --- The platform operator suspends tenant B: its portal shows a notice; then resumes it.
  const operator = await (await newContext(browser, { width: 1280 })).newPage();
  await operator.goto(`${ISSUER}/van-hanh`);
  await signIn(operator, OPERATOR, totp(OPERATOR_TOTP));
  await operator.waitForURL(new RegExp(`^${ISSUER}/van-hanh`));
  await operator.getByRole('heading', { name: 'Bảng vận hành nền tảng' }).waitFor();
  await checkA11y(operator, 'operator console');
  await screenshot(operator, 'desktop/console');
  await operator.getByRole('button', { name: 'Tạm ngừng đơn vị tinh-b' }).click();
  await operator.getByText('Đơn vị đã tạm ngừng').waitFor();
  const suspended = await (await newContext(browser, { width: 360 })).newPage();
  const closed = await suspended.goto(`${B}/`);
  assert.equal(closed.status(), 403);
  await suspended.getByText('đang tạm ngừng hoạt động').waitFor();
  await checkA11y(suspended, 'suspended portal');
  await operator.getByRole('button', { name: 'Cho đơn vị tinh-b hoạt động lại' }).click();
  await operator.getByText('Đơn vị đã hoạt động lại.').waitFor();
  assert.equal((await suspended.goto(`${B}/`)).status(), 200);

  // --- Anyone: the public lookup by code and phone (a POST: the phone stays out of URLs) ---
  const anon = await (await newContext(browser, { width: 1280 })).newPage();
  await anon.goto(`${A}/tra-cuu`);
  await checkA11y(anon, 'lookup');
  await anon.getByLabel('Mã hồ sơ').fill(code);
  await anon.getByLabel('Số điện thoại').fill('0999 999 999');
  assert.equal(await submit(anon, () => anon.getByRole('button', { name: 'Tra cứu' }).click()), 404);
  await anon.getByText('Không tìm thấy hồ sơ').first().waitFor();
  await anon.getByLabel('Số điện thoại').fill(PHONE);
  assert.equal(await submit(anon, () => anon.getByRole('button', { name: 'Tra cứu' }).click()), 200);
  await anon.getByRole('heading', { name: new RegExp(code) }).waitFor();
  assert.ok(!anon.url().includes('0912'), 'the phone number is not in the address');
  await checkA11y(anon, 'lookup result');
  await anon.goto(`${A}/`);
  await screenshot(anon, 'desktop/home-branded');
  await anon.goto(`${A}/khong-co-trang-nay`);
  await anon.getByRole('heading', { name: 'Không tìm thấy trang' }).waitFor();
  await checkA11y(anon, '404');
  await page.goto(`${A}/ho-so/${code}`);
  await page.setViewportSize({ width: 1280, height: 800 });
  await screenshot(page, 'desktop/dossier');

  // --- Signing out on A ends the sign-in everywhere -----------------------------------------
  await page.goto(`${A}/`);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
  await page.goto(`${B}/ho-so`);
  await page.waitForURL(/\/oauth\/authorize/);
  result.signed_out_everywhere = true;

  // A new browser: signing in brings the language the citizen chose (English) along.
  const fresh = await (await newContext(browser, { width: 1280 })).newPage();
  await fresh.goto(`${B}/dang-nhap`);
  await signIn(fresh, CITIZEN);
  await fresh.waitForURL(`${B}/`);
  await fresh.getByRole('link', { name: 'My dossiers' }).waitFor();
  assert.equal(await fresh.getAttribute('html', 'lang'), 'en');
  result.language_follows_account = true;

  // Forgotten password: the link from the mailbox, a new password, signing in with it.
  const reset = await (await newContext(browser, { width: 360 })).newPage();
  await reset.goto(`${B}/dang-nhap`);
  await reset.getByRole('link', { name: 'Quên mật khẩu?' }).click();
  await checkA11y(reset, 'forgot password');
  const asked = Date.now() - 2000;
  await reset.getByLabel('Thư điện tử').fill(CITIZEN);
  await reset.getByRole('button', { name: 'Gửi liên kết' }).click();
  await reset.getByRole('heading', { name: 'Kiểm tra hộp thư' }).waitFor();
  const resetMail = await waitForMail({ maildir: MAILDIR, to: CITIZEN, after: asked, subject: 'password', timeoutMs: 20000 }); // in English: the account's language
  await reset.goto(linkIn(resetMail.text, '/reset-password'));
  await checkA11y(reset, 'reset password');
  await reset.getByLabel('Mật khẩu mới').fill('ngan');
  assert.equal(await submit(reset, () => reset.getByRole('button', { name: 'Đặt mật khẩu mới' }).click()), 422);
  const NEW_PASSWORD = 'mat-khau-moi-hoan-toan-2026';
  await reset.getByLabel('Mật khẩu mới').fill(NEW_PASSWORD);
  await reset.getByRole('button', { name: 'Đặt mật khẩu mới' }).click();
  await reset.getByRole('heading', { name: 'Đã đổi mật khẩu' }).waitFor();
  await reset.goto(`${B}/dang-nhap`);
  await reset.getByLabel('Thư điện tử').fill(CITIZEN);
  await reset.getByLabel('Mật khẩu', { exact: true }).fill(NEW_PASSWORD);
  await reset.getByRole('button', { name: 'Đăng nhập' }).click();
  await reset.waitForURL(`${B}/`);
  result.password_reset = true;
} catch (e) {
  // Where every page was when it failed, to read in the test's output.
  for (const context of browser.contexts()) {
    for (const p of context.pages()) {
      const text = await p.innerText('body').catch(() => '');
      console.error(`--- ${p.url()}\n${text.slice(0, 800)}`);
      await screenshot(p, `failure/${context.pages().indexOf(p)}-${Date.now()}`).catch(() => {});
    }
  }
  throw e;
} finally {
  await browser.close();
}
console.log(`RESULT ${JSON.stringify(result)}`);
