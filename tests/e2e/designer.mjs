// The procedure designer (/quan-tri/thu-tuc), timed, in Debian's Chromium: tinh-a's admin,
// starting from nothing, designs and publishes a new service — eight fields of different
// kinds, a repeated list of workers with two fields, two documents, a fee with an amount per
// worker — seeing each kind of bad input refused next to its input (an unparseable procedure
// code, an invalid pattern, an empty choice list, a field code taken, a file type dvc cannot
// recognise, a negative fee), previews it in both languages and publishes; a citizen finds it,
// applies and pays; an officer receives, decides and returns it. axe-core checks every
// designer page. The admin's page submissions are counted (every form post, refused ones
// included). Prints `RESULT {json}` last.

import assert from 'node:assert/strict';
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
const PASSWORD = env('PASSWORD');
const CODE = env('PROCEDURE');
const NAME = 'Cấp phép tuyển lao động thời vụ (thử nghiệm)';
const PDF = Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n', 'latin1');

const signIn = (page, email, secret) => signInWithTotp(page, email, PASSWORD, secret);

const browser = await launch();
const result = {};
let submissions = 0;
let refused = 0;
/** One form post by the admin: counted, and its status checked. */
async function post(page, button, status = 200) {
  submissions += 1;
  if (status !== 200) refused += 1;
  const got = await submit(page, () => page.getByRole('button', { name: button, exact: true }).click());
  assert.equal(got, status, `${button}: ${status} expected`);
}

try {
  const started = Date.now();
  const admin = await (await newContext(browser, { width: 1280 })).newPage();
  const noConsoleErrors = expectNoConsoleErrors(admin, { ignore: [/status of 422/] });
  await admin.goto(`${A}/quan-tri`);
  await signIn(admin, env('ADMIN_EMAIL'), env('ADMIN_TOTP'));
  await admin.waitForURL(`${A}/quan-tri`);
  await admin.getByRole('link', { name: 'Thiết kế thủ tục' }).click();
  await admin.getByRole('heading', { name: 'Thiết kế thủ tục', level: 1 }).waitFor();
  await checkA11y(admin, 'designer: list');

  // A new procedure: a code that is not one is refused next to its input.
  await admin.getByLabel('Mã thủ tục').fill('2 000/900');
  await admin.getByLabel('Tên thủ tục (tiếng Việt)').fill(NAME);
  await admin.getByLabel('Lĩnh vực').selectOption({ label: 'Việc làm' });
  await post(admin, 'Tạo bản nháp', 422);
  assert.equal(await admin.locator('#d-code').getAttribute('aria-invalid'), 'true');
  await admin.locator('#d-code-error').waitFor();
  assert.equal(await admin.getByLabel('Tên thủ tục (tiếng Việt)').inputValue(), NAME, 'typed name kept');
  await checkA11y(admin, 'designer: list with an error');
  await admin.getByLabel('Mã thủ tục').fill(CODE);
  await post(admin, 'Tạo bản nháp');
  await admin.waitForURL(new RegExp(`/quan-tri/thu-tuc/${CODE.replace('.', '\\.')}\\?ok=created`));
  await checkA11y(admin, 'designer: new draft');

  /** Fills the add-field form (only what is given) and posts it. */
  async function addField(f, status = 200) {
    await admin.getByLabel('Nhãn (tiếng Việt)').fill(f.label);
    if (f.en) await admin.getByLabel('Nhãn (tiếng Anh, không bắt buộc)').fill(f.en);
    await admin.getByLabel('Loại trường').selectOption({ label: f.kind });
    await admin.getByLabel('Đặt trong').selectOption({ label: f.parent ?? 'Biểu mẫu (cấp ngoài cùng)' });
    if (f.code) await admin.getByLabel('Mã trường (không bắt buộc)').fill(f.code);
    if (f.required) await admin.getByLabel('Bắt buộc nhập').check();
    if (f.pattern) await admin.getByLabel('Mẫu kiểm tra (biểu thức chính quy)').fill(f.pattern);
    if (f.min) await admin.getByLabel('Giá trị nhỏ nhất').fill(f.min);
    if (f.max) await admin.getByLabel('Giá trị lớn nhất').fill(f.max);
    if (f.minItems) await admin.getByLabel('Số dòng tối thiểu').fill(f.minItems);
    if (f.choices !== undefined) await admin.getByLabel('Các lựa chọn (với trường lựa chọn)').fill(f.choices);
    await post(admin, 'Thêm trường', status);
  }

  await addField({ label: 'Tên doanh nghiệp', en: 'Company name', kind: 'Văn bản', required: true });
  // An invalid regular expression: refused at the pattern, with what was typed kept.
  await addField({ label: 'Mã số doanh nghiệp', en: 'Enterprise code', kind: 'Văn bản', required: true, pattern: '[0-9{10' }, 422);
  assert.equal(await admin.locator('#d-pattern').getAttribute('aria-invalid'), 'true');
  await admin.locator('#d-pattern-error').getByText('biểu thức chính quy').waitFor();
  assert.equal(await admin.getByLabel('Nhãn (tiếng Việt)').inputValue(), 'Mã số doanh nghiệp');
  // The other forms on the page show what is stored, not the refused form's empty boxes.
  assert.equal(await admin.getByLabel('Tiếp nhận hồ sơ thủ tục này trên cổng của cơ quan').isChecked(), true);
  await checkA11y(admin, 'designer: field refused');
  await admin.getByLabel('Mẫu kiểm tra (biểu thức chính quy)').fill('[0-9]{10}');
  await post(admin, 'Thêm trường');
  await addField({ label: 'Điện thoại liên hệ', en: 'Contact phone', kind: 'Số điện thoại', required: true });
  await addField({ label: 'Ngày bắt đầu tuyển', en: 'Start date', kind: 'Ngày', required: true });
  await addField({ label: 'Số tháng tuyển', en: 'Months', kind: 'Số nguyên', min: '1', max: '12' });
  // A choice without choices: refused at the list of choices.
  await addField({ label: 'Hình thức làm việc', en: 'Form of work', kind: 'Lựa chọn', required: true, choices: '' }, 422);
  assert.equal(await admin.locator('#d-choices').getAttribute('aria-invalid'), 'true');
  await admin.getByLabel('Các lựa chọn (với trường lựa chọn)').fill('Toàn thời gian\nBán thời gian');
  await post(admin, 'Thêm trường');
  await addField({ label: 'Cam kết thực hiện đúng quy định', en: 'Undertaking', kind: 'Có/Không', required: true });
  await addField({ label: 'Số CCCD người đại diện', en: "Representative's ID number", kind: 'Số CCCD' });
  // A field code already in the form: refused at the code.
  await addField({ label: 'Tên doanh nghiệp (lần hai)', kind: 'Văn bản', code: 'ten_doanh_nghiep' }, 422);
  await admin.locator('#d-code-error').getByText('ten_doanh_nghiep').waitFor();
  await admin.getByLabel('Nhãn (tiếng Việt)').fill('');
  await addField({ label: 'Danh sách người lao động', en: 'Workers', kind: 'Danh sách lặp lại (mỗi dòng một nhóm trường)', minItems: '1', code: 'nguoi_lao_dong' });
  await addField({ label: 'Họ và tên người lao động', en: "Worker's full name", kind: 'Văn bản', required: true, parent: 'Danh sách người lao động' });
  await addField({ label: 'Giới tính', en: 'Gender', kind: 'Lựa chọn', required: true, parent: 'Danh sách người lao động', choices: 'nam | Nam\nnu | Nữ' });
  // Reorder: the representative's ID goes above the undertaking.
  await post(admin, "Chuyển lên: Số CCCD người đại diện");
  const order = await admin.locator('#fields-h + ol > li > code').allTextContents();
  assert.deepEqual(order, ['ten_doanh_nghiep', 'ma_so_doanh_nghiep', 'dien_thoai_lien_he', 'ngay_bat_dau_tuyen', 'so_thang_tuyen', 'hinh_thuc_lam_viec', 'so_cccd_nguoi_dai_dien', 'cam_ket_thuc_hien_dung_quy_dinh', 'nguoi_lao_dong']);
  result.fields = order;

  // Documents: a type dvc cannot recognise by content is refused.
  await admin.getByLabel('Tên giấy tờ (tiếng Việt)').fill('Văn bản đề nghị');
  await admin.getByLabel('Tên giấy tờ (tiếng Anh, không bắt buộc)').fill('Application letter');
  await admin.getByLabel('Loại tệp nhận').fill('pdf, doc');
  await post(admin, 'Thêm giấy tờ', 422);
  assert.equal(await admin.locator('#d-doc_accept').getAttribute('aria-invalid'), 'true');
  await admin.locator('#d-doc_accept-error').getByText('`doc`').waitFor();
  await admin.getByLabel('Loại tệp nhận').fill('pdf');
  await post(admin, 'Thêm giấy tờ');
  await admin.getByLabel('Tên giấy tờ (tiếng Việt)').fill('Hợp đồng lao động thời vụ');
  await admin.getByLabel('Tên giấy tờ (tiếng Anh, không bắt buộc)').fill('Seasonal labour contract');
  await admin.getByLabel('Loại tệp nhận').fill('pdf, jpg, png');
  await post(admin, 'Thêm giấy tờ');

  // General information: a negative fee is refused; then the fee and the amount per worker.
  await admin.getByLabel('Tên thủ tục (tiếng Anh, không bắt buộc)').fill('Licensing seasonal recruitment (trial)');
  await admin.getByLabel('Thời hạn giải quyết (ngày làm việc)').fill('6');
  await admin.getByLabel('Lệ phí (đồng)').fill('-1000');
  await admin.getByLabel('Người quyết định').selectOption({ label: 'Cán bộ' });
  await post(admin, 'Lưu thông tin chung', 422);
  await admin.locator('#d-fee_vnd-error').getByText('số âm').waitFor();
  await checkA11y(admin, 'designer: general refused');
  await admin.getByLabel('Lệ phí (đồng)').fill('200.000');
  await admin.getByLabel('Lệ phí thêm cho mỗi dòng của danh sách (đồng, không bắt buộc)').fill('50000');
  await admin.getByLabel('Danh sách tính lệ phí theo dòng').selectOption({ label: 'Danh sách người lao động' });
  await post(admin, 'Lưu thông tin chung');
  await checkA11y(admin, 'designer: filled draft');
  await screenshot(admin, 'desktop/designer');

  // Preview in both languages: nothing published yet.
  await admin.getByRole('link', { name: 'Xem trước (tiếng Việt)' }).click();
  await admin.getByRole('heading', { name: NAME }).waitFor();
  await admin.getByLabel('Mã số doanh nghiệp').waitFor();
  await checkA11y(admin, 'designer: preview (vi)');
  await admin.goto(`${A}/quan-tri/thu-tuc/${CODE}/xem-truoc?lang=en`);
  await admin.getByRole('heading', { name: 'Licensing seasonal recruitment (trial)' }).waitFor();
  await admin.getByLabel('Enterprise code').waitFor();
  assert.equal(await admin.getAttribute('html', 'lang'), 'en');
  await checkA11y(admin, 'designer: preview (en)');
  const anonymous = await (await newContext(browser, { width: 1280 })).newPage();
  const before = await anonymous.goto(`${A}/thu-tuc/${CODE}`);
  assert.equal(before.status(), 404, 'a draft is not on the portal');

  await admin.goto(`${A}/quan-tri/thu-tuc/${CODE}`);
  await post(admin, 'Xuất bản');
  await admin.getByText('Đã xuất bản').waitFor();
  await checkA11y(admin, 'designer: published');
  assert.equal((await anonymous.goto(`${A}/thu-tuc/${CODE}`)).status(), 200, 'published at once');
  result.admin_submissions = submissions;
  result.admin_refused = refused;
  result.admin_seconds = Math.round((Date.now() - started) / 100) / 10;
  noConsoleErrors();

  // --- The catalog import on the same page: a bad row refuses the file; then a check and the
  // import of three procedures (not counted above: it is not designing a service).
  const header = 'Mã thủ tục;Tên thủ tục;Lĩnh vực;Mức độ;Thời hạn giải quyết;Phí, lệ phí;Căn cứ pháp lý;Thành phần hồ sơ\n';
  const rows = [0, 1, 2].map((i) => `9.10000${i};Thủ tục nhập thử số ${i};Việc làm;Toàn trình;${5 + i} ngày làm việc;${i * 100}.000 đồng;Nghị định số 219/2025/NĐ-CP;Tờ khai\n`).join('');
  const csv = (text) => ({ name: 'danh-muc.csv', mimeType: 'text/csv', buffer: Buffer.from(text, 'utf8') });
  await admin.goto(`${A}/quan-tri/thu-tuc`);
  await admin.getByLabel('Tệp danh mục').setInputFiles(csv(header + rows + '9.100009;Sai;Việc làm;mức 9;5;0;;\n'));
  assert.equal(await submit(admin, () => admin.getByRole('button', { name: 'Kiểm tra (không ghi)' }).click()), 422);
  await admin.getByText('Dòng 5, cột “Mức độ”').first().waitFor();
  await checkA11y(admin, 'designer: import refused');
  await admin.getByLabel('Tệp danh mục').setInputFiles(csv(header + rows));
  assert.equal(await submit(admin, () => admin.getByRole('button', { name: 'Kiểm tra (không ghi)' }).click()), 200);
  await admin.getByText('Tạo mới 3, cập nhật 0, không đổi 0 thủ tục.').waitFor();
  await checkA11y(admin, 'designer: import checked');
  await admin.getByLabel('Tệp danh mục').setInputFiles(csv(header + rows));
  assert.equal(await submit(admin, () => admin.getByRole('button', { name: 'Nhập', exact: true }).click()), 200);
  await admin.getByRole('heading', { name: 'Đã nhập danh mục' }).waitFor();
  await admin.getByRole('cell', { name: '9.100002' }).first().waitFor();
  result.imported = true;

  // --- A citizen finds it, applies and pays ----------------------------------------------
  const page = await (await newContext(browser, { width: 360 })).newPage();
  await page.goto(`${A}/`);
  await page.getByRole('link', { name: 'Đăng nhập' }).click();
  await signIn(page, env('CITIZEN_EMAIL'), env('CITIZEN_TOTP'));
  await page.waitForURL(`${A}/`);
  await page.getByLabel('Tìm thủ tục hành chính').fill('lao dong thoi vu');
  await page.getByRole('button', { name: 'Tìm kiếm' }).click();
  await page.getByRole('link', { name: NAME }).click();
  await page.waitForURL(`${A}/thu-tuc/${CODE}`);
  await page.getByText('Hợp đồng lao động thời vụ').waitFor();
  await page.getByRole('link', { name: 'Nộp hồ sơ trực tuyến' }).click();
  await page.getByLabel('Số điện thoại nhận thông báo').fill('0912 345 678');
  await page.getByLabel('Tên doanh nghiệp').fill('Công ty TNHH Mùa Vàng');
  await page.getByLabel('Mã số doanh nghiệp').fill('01234567');
  await page.getByLabel('Điện thoại liên hệ').fill('0987 654 321'); // spaces as people type them
  await page.getByLabel('Ngày bắt đầu tuyển').fill('01/03/2027');
  await page.getByLabel('Số tháng tuyển').fill('3');
  await page.getByLabel('Hình thức làm việc').selectOption({ label: 'Bán thời gian' });
  await page.getByLabel('Cam kết thực hiện đúng quy định').check();
  await page.locator('#f-form-nguoi_lao_dong-0-ho_va_ten_nguoi_lao_dong').fill('Lò Văn Mùa');
  await page.locator('#f-form-nguoi_lao_dong-0-gioi_tinh').selectOption({ label: 'Nam' });
  // The designed pattern holds: nine digits are not an enterprise code.
  assert.equal(await submit(page, () => page.getByRole('button', { name: 'Tiếp tục' }).click()), 422);
  assert.equal(await page.getByLabel('Mã số doanh nghiệp').getAttribute('aria-invalid'), 'true');
  await page.getByLabel('Mã số doanh nghiệp').fill('0123456789');
  const applied = await submit(page, () => page.getByRole('button', { name: 'Tiếp tục' }).click());
  assert.equal(applied, 200, (await page.locator('.field-error').allTextContents()).join('; '));
  await page.getByRole('heading', { name: 'Xem lại và đính kèm giấy tờ' }).waitFor();
  await page.locator('#doc-0').setInputFiles({ name: 'de-nghi.pdf', mimeType: 'application/pdf', buffer: PDF });
  await page.locator('#doc-1').setInputFiles({ name: 'hop-dong.pdf', mimeType: 'application/pdf', buffer: PDF });
  assert.equal(await submit(page, () => page.getByRole('button', { name: 'Nộp hồ sơ' }).click()), 200);
  await page.waitForURL(/\/ho-so\/[A-Z0-9.-]+\?moi=1$/);
  const code = new URL(page.url()).pathname.split('/').pop();
  result.code = code;
  await page.getByRole('button', { name: 'Thanh toán trực tuyến' }).click();
  await page.getByRole('button', { name: 'Thanh toán / Pay' }).click();
  await page.waitForURL(new RegExp(`/ho-so/${code}\\?ok=thanh-toan$`));
  await page.getByText('Đã thanh toán lệ phí.').waitFor();
  result.paid = true;

  // --- An officer receives, decides and returns it -----------------------------------------
  const officer = await (await newContext(browser, { width: 1280 })).newPage();
  await officer.goto(`${A}/can-bo`);
  await signIn(officer, env('OFFICER_EMAIL'), env('OFFICER_TOTP'));
  await officer.waitForURL(`${A}/can-bo`);
  await officer.getByLabel(`Chọn hồ sơ ${code}`).check();
  await officer.getByRole('button', { name: 'Tiếp nhận các hồ sơ đã chọn' }).click();
  await officer.getByText('Đã xử lý 1 hồ sơ.').waitFor();
  await officer.getByRole('link', { name: code }).click();
  // The answers under the designed labels.
  await officer.getByText('Công ty TNHH Mùa Vàng').waitFor();
  await officer.getByText('Lò Văn Mùa').waitFor();
  await officer.getByRole('button', { name: 'Bắt đầu xử lý' }).click();
  await officer.getByText('Đã cập nhật hồ sơ.').waitFor();
  await officer.getByLabel('Ghi chú').first().fill('Đủ điều kiện.');
  await officer.getByRole('button', { name: 'Phê duyệt' }).click();
  await officer.getByText('Đã cập nhật hồ sơ.').waitFor();
  await officer.getByRole('button', { name: 'Trả kết quả' }).click();
  await officer.getByText('Đã cập nhật hồ sơ.').waitFor();
  await page.goto(`${A}/ho-so/${code}`);
  await page.getByText('Đã trả kết quả').first().waitFor();
  result.returned = true;
} finally {
  await browser.close();
}
console.log(`RESULT ${JSON.stringify(result)}`);
