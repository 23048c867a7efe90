// Self-test of lib.mjs that needs nothing of dvc: a tiny node:http server sending the portal's
// strict CSP, Debian's Chromium through playwright-core, axe-core, a maildir written here.
// Run: node tests/e2e/smoke.mjs (after ensure_browser from scripts/browser.sh).

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, utimes, writeFile, mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  checkA11y, expectNoConsoleErrors, launch, linkIn, newContext, screenshot, totp, waitForMail,
} from './lib.mjs';

const ISSUER = 'http://sso.localhost:9';
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  `form-action 'self' ${ISSUER}; frame-ancestors 'none'`;

const page = (title, body) => `<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title><link rel="stylesheet" href="/style.css"><script src="/app.js" defer></script>
</head><body><main>${body}</main></body></html>`;

const PAGES = {
  // Accessible: labelled input, headings, contrast from the stylesheet.
  '/': page('Cổng dịch vụ công Hà Nội', `
    <h1>Cổng dịch vụ công thành phố Hà Nội</h1>
    <p>Tra cứu thủ tục hành chính, nộp hồ sơ trực tuyến và theo dõi kết quả giải quyết.</p>
    <form method="get" action="/"><label for="q">Tìm thủ tục</label>
    <input id="q" name="q" type="search"><button type="submit">Tìm kiếm</button></form>
    <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="" width="1" height="1">`),
  // A serious violation: an input without a label.
  '/bad': page('Trang lỗi', `<h1>Đăng ký tài khoản</h1>
    <form method="post" action="/"><input name="email" type="email"><button>Gửi</button></form>`),
  // Breaks the CSP: inline script and style must be refused (and reported on the console).
  '/csp': page('CSP', `<h1 style="color: red">Vi phạm CSP</h1>
    <script>document.title = 'inline script ran'</script>`),
};

const ASSETS = {
  '/style.css': ['text/css', 'body{font-family:sans-serif;margin:0 auto;max-width:60rem;padding:1rem;' +
    'color:#1a1a1a;background:#fff}h1{color:rgb(170, 20, 20)}input,button{font-size:1rem;margin:.25rem}'],
  '/app.js': ['text/javascript', "document.documentElement.dataset.js = 'ran';"],
  // Chromium fetches /favicon.ico by itself and logs a 404 for it as a console error.
  '/favicon.ico': ['image/gif', Buffer.from('R0lGODlhAQABAAAAACw=', 'base64')],
};

const server = createServer((req, res) => {
  const { pathname } = new URL(req.url, 'http://x');
  const headers = { 'content-security-policy': CSP, 'x-content-type-options': 'nosniff' };
  if (PAGES[pathname]) {
    res.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8' }).end(PAGES[pathname]);
  } else if (ASSETS[pathname]) {
    res.writeHead(200, { ...headers, 'content-type': ASSETS[pathname][0] }).end(ASSETS[pathname][1]);
  } else {
    res.writeHead(404, headers).end();
  }
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const base = `http://smoke.localhost:${server.address().port}`;

// A minimal runner: every check runs, failures are listed, the exit code tells.
let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok - ${name}`);
  } catch (err) {
    failed++;
    console.log(`not ok - ${name}\n  ${String(err?.stack ?? err).replaceAll('\n', '\n  ')}`);
  }
}

// Screenshots go to $E2E_ARTIFACTS when set (a CI job keeping them), else to a temporary folder.
const artifacts = process.env.E2E_ARTIFACTS ||= await mkdtemp(path.join(tmpdir(), 'dvc-e2e-smoke-'));
const browser = await launch({ loopbackHosts: ['dichvucong.ha-noi.gov.vn'] });
try {
  const context = await newContext(browser, { width: 1280 });
  const tab = await context.newPage();

  await check('*.localhost resolves to 127.0.0.1 and the CSP allows self', async () => {
    const assertNoErrors = expectNoConsoleErrors(tab);
    const resp = await tab.goto(`${base}/`);
    assert.equal(resp.status(), 200);
    assert.equal((await resp.serverAddr())?.ipAddress, '127.0.0.1');
    assert.equal(await tab.title(), 'Cổng dịch vụ công Hà Nội');
    assert.equal(await tab.locator('html').getAttribute('data-js'), 'ran', "script from 'self' ran");
    const color = await tab.locator('h1').evaluate((h) => getComputedStyle(h).color);
    assert.equal(color, 'rgb(170, 20, 20)', "stylesheet from 'self' applied");
    assert.equal(await tab.evaluate(() => navigator.language), 'vi-VN');
    assertNoErrors();
  });

  await check('loopbackHosts and 127.0.0.1 load; any other name stays on loopback', async () => {
    const port = server.address().port;
    for (const host of ['dichvucong.ha-noi.gov.vn', '127.0.0.1']) {
      const p = await context.newPage();
      assert.equal((await p.goto(`http://${host}:${port}/`)).status(), 200, host);
      await p.close();
    }
    const p = await context.newPage();
    await assert.rejects(p.goto('http://example.com/', { timeout: 5000 }), /ERR_CONNECTION_REFUSED/);
    await p.close();
  });

  await check('checkA11y passes an accessible page under the strict CSP', async () => {
    const violations = await checkA11y(tab, 'good page');
    assert.ok(Array.isArray(violations));
  });

  await check('checkA11y throws on a serious violation, naming the rule', async () => {
    await tab.goto(`${base}/bad`);
    await assert.rejects(checkA11y(tab, 'bad page'), (err) => {
      assert.match(err.message, /bad page: .*serious\/critical/);
      assert.match(err.message, /- label \[critical\] Form elements must have labels: input/);
      return true;
    });
  });

  await check('the CSP is enforced and its violations are reported', async () => {
    const csp = await context.newPage();
    const assertNoErrors = expectNoConsoleErrors(csp);
    await csp.goto(`${base}/csp`);
    assert.equal(await csp.title(), 'CSP', 'inline script was refused');
    assert.notEqual(await csp.locator('h1').evaluate((h) => getComputedStyle(h).color), 'rgb(255, 0, 0)');
    assert.throws(assertNoErrors, /Content Security Policy/);
    await csp.close();
  });

  for (const width of [360, 1280]) {
    await check(`screenshot at ${width} px`, async () => {
      const ctx = await newContext(browser, { width });
      const p = await ctx.newPage();
      await p.goto(`${base}/`);
      const file = await screenshot(p, `smoke/home-${width}`);
      assert.equal(file, path.resolve(artifacts, 'smoke', `home-${width}.png`));
      const png = await readFile(file);
      assert.equal(png.subarray(1, 4).toString(), 'PNG');
      assert.equal(png.readUInt32BE(16), width, 'PNG width'); // IHDR width
      await ctx.close();
    });
  }
} finally {
  await browser.close();
  server.close();
}

await check('totp matches RFC 6238 (SHA-1) test vectors', () => {
  const secret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'; // base32("12345678901234567890")
  const vectors = { 59: '287082', 1111111109: '081804', 1111111111: '050471',
    1234567890: '005924', 2000000000: '279037', 20000000000: '353130' };
  for (const [t, code] of Object.entries(vectors)) assert.equal(totp(secret, t * 1000), code, `T=${t}`);
  assert.equal(totp(secret.toLowerCase(), 59_000, { digits: 8 }), '94287082');
  assert.match(totp('JBSWY3DPEHPK3PXP'), /^\d{6}$/);
});

await check('linkIn finds the first link under a path', () => {
  const text = 'Xem https://ha-noi.localhost:8080/ho-so/1.\nXác nhận: http://ha-noi.localhost:8080/xac-nhan?t=a%2Fb&x=1.';
  assert.equal(linkIn(text, '/xac-nhan'), 'http://ha-noi.localhost:8080/xac-nhan?t=a%2Fb&x=1');
  assert.equal(linkIn(text), 'https://ha-noi.localhost:8080/ho-so/1');
  assert.throws(() => linkIn(text, '/dang-nhap'), /no link to \/dang-nhap/);
});

// Mail as the local aiosmtpd server stores it: one raw message per file in <maildir>/new.
const maildir = await mkdtemp(path.join(tmpdir(), 'dvc-e2e-maildir-'));
await mkdir(path.join(maildir, 'new'));
let n = 0;
const deliver = async (raw, mtime) => {
  const file = path.join(maildir, 'new', `${Date.now()}.M${++n}P${process.pid}.smoke`);
  await writeFile(file, raw.replace(/\n/g, '\r\n'));
  if (mtime) await utimes(file, mtime / 1000, mtime / 1000);
};
const b64 = (s) => Buffer.from(s).toString('base64');
// Quoted-printable as lettre writes it: non-ASCII bytes as =XX, soft breaks within 76 columns.
const qp = (s) => [...Buffer.from(s)]
  .map((b) => (b > 126 || b === 61 ? `=${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b)))
  .join('').split('\n').map((l) => l.match(/.{1,72}(?:=[0-9A-F]{2})?/g)?.join('=\n') ?? '').join('\n');
const subject = 'Xác nhận địa chỉ thư điện tử — Cổng dịch vụ công Hà Nội';
const subjectBytes = Buffer.from(subject);
// Two folded encoded words, split at byte 13: inside the two bytes of "đ".
const encodedSubject = `=?utf-8?b?${subjectBytes.subarray(0, 13).toString('base64')}?=\n ` +
  `=?utf-8?b?${subjectBytes.subarray(13).toString('base64')}?=`;
const link = `http://ha-noi.localhost:8080/tai-khoan/xac-nhan?token=${'x'.repeat(90)}`;
const lettreLike = (to, subj, text) => `From: =?utf-8?b?${b64('Sở Nội vụ Hà Nội')}?= <no-reply@ha-noi.localhost>
To: ${to}
Subject: ${subj}
MIME-Version: 1.0
Date: Mon, 3 Nov 2025 09:00:00 +0700
Content-Type: multipart/alternative; boundary="b1xyz"

--b1xyz
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

${qp(text)}
--b1xyz
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

${b64(`<p>${text}</p>`).match(/.{1,76}/g).join('\n')}
--b1xyz--
`;
const body = `Kính gửi ông Nguyễn Văn An,\nMời bấm vào liên kết sau để xác nhận:\n${link}\nTrân trọng.`;

await check('waitForMail decodes the newest matching message (QP, base64, encoded words)', async () => {
  const t0 = Date.now();
  await deliver(lettreLike('an@example.vn', encodedSubject, 'Thư cũ: http://ha-noi.localhost/cu'), t0 - 60_000);
  await deliver(`To: Khác <other@example.vn>\nSubject: =?UTF-8?Q?Th=C6=B0_kh=C3=A1c?=\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n${b64('Nội dung khác')}\n`);
  setTimeout(() => deliver(lettreLike('"Nguyễn Văn An" <An@Example.VN>', encodedSubject, body)), 300);
  const mail = await waitForMail({ maildir, to: 'an@example.vn', subject: 'Xác nhận', after: t0 - 1000 });
  assert.equal(mail.subject, subject);
  assert.equal(mail.text, body); // the line break before a boundary belongs to it
  assert.match(mail.html, /^<p>Kính gửi ông Nguyễn Văn An/);
  assert.equal(linkIn(mail.text, '/tai-khoan/xac-nhan'), link);
  const other = await waitForMail({ maildir, to: 'OTHER@example.vn' });
  assert.deepEqual([other.subject, other.text], ['Thư khác', 'Nội dung khác']);
});

await check('waitForMail times out listing what it saw', async () => {
  await assert.rejects(
    waitForMail({ maildir, to: 'an@example.vn', subject: 'Mật khẩu', timeoutMs: 300 }),
    /no mail to an@example.vn, subject containing "Mật khẩu" in .* within 300 ms; saw 3:\n {2}- .*subject "Xác nhận/,
  );
});
await rm(maildir, { recursive: true });

console.log(`screenshots in ${artifacts}`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
