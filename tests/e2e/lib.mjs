// Helpers for dvc's browser end-to-end tests: Debian's Chromium driven by playwright-core,
// accessibility checks with axe-core, screenshots, mail from the local SMTP server's maildir,
// links in mail, TOTP codes. scripts/browser.sh (ensure_browser) installs what this needs.

import { createHmac } from 'node:crypto';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------------------------
// Browser

/**
 * Launches Debian's Chromium (or $CHROMIUM) headless, quiet on the closed network.
 *
 * Chromium resolves localhost and *.localhost to loopback by itself. `loopbackHosts` (e.g. a
 * tenant's own domain) go to 127.0.0.1, port kept. Every other name goes to 127.0.0.1:9, where
 * nothing listens (ERR_CONNECTION_REFUSED), without a DNS query: the flags alone still leave
 * autofill, sign-in and updater look-ups, and a failed look-up (~NOTFOUND) would make Chromium
 * probe DNS itself, public resolver included, for its error page.
 */
export function launch({ loopbackHosts = [] } = {}) {
  const rules = [
    ...loopbackHosts.map((host) => `MAP ${host} 127.0.0.1`),
    'MAP * 127.0.0.1:9',
    ...['localhost', '*.localhost', '127.0.0.1', '[::1]'].map((host) => `EXCLUDE ${host}`),
  ];
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // Not --disable-features: a second one would replace Playwright's own list.
      `--host-resolver-rules=${rules.join(', ')}`,
    ],
  });
}

/**
 * A browser context as a Vietnamese user sees the portal: viewport `width` wide (360 phone,
 * 1280 desktop), locale vi-VN, Hanoi time. The pages' CSP is enforced (no bypassCSP).
 */
export function newContext(browser, { width = 1280, height = width < 600 ? 740 : 800, ...rest } = {}) {
  return browser.newContext({
    viewport: { width, height },
    locale: 'vi-VN',
    timezoneId: 'Asia/Ho_Chi_Minh',
    bypassCSP: false,
    ...rest,
  });
}

// ---------------------------------------------------------------------------------------------
// Accessibility

const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
let axeSource; // axe.min.js, read once

/**
 * Runs axe-core (WCAG 2.0/2.1 A and AA) in the page. Throws on any `serious` or `critical`
 * violation; returns every violation otherwise, so callers can log the minor ones.
 *
 * axe's source goes in with page.evaluate, i.e. through the DevTools protocol, which the page's
 * CSP (script-src 'self') does not govern; a <script> tag would be refused.
 */
export async function checkA11y(page, label = page.url()) {
  axeSource ??= await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    await page.evaluate(axeSource);
  }
  const violations = await page.evaluate(
    async (tags) => (await window.axe.run(document, {
      runOnly: { type: 'tag', values: tags },
      resultTypes: ['violations'],
    })).violations,
    AXE_TAGS,
  );
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length > 0) {
    const lines = bad.map((v) => {
      // A target is a selector, or a list of them for content inside frames or shadow roots.
      const targets = v.nodes.slice(0, 3).map((n) => [n.target].flat().join(' >>> '));
      const more = v.nodes.length > 3 ? ` (+${v.nodes.length - 3} more)` : '';
      return `  - ${v.id} [${v.impact}] ${v.help}: ${targets.join(', ')}${more}\n    ${v.helpUrl}`;
    });
    throw new Error(`${label}: ${bad.length} serious/critical accessibility violation(s):\n${lines.join('\n')}`);
  }
  return violations;
}

// ---------------------------------------------------------------------------------------------
// Screenshots

/** A full-page PNG at $E2E_ARTIFACTS/<name>.png (default target/e2e-artifacts); its path. */
export async function screenshot(page, name) {
  const file = path.resolve(process.env.E2E_ARTIFACTS || 'target/e2e-artifacts', `${name}.png`);
  await mkdir(path.dirname(file), { recursive: true });
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// ---------------------------------------------------------------------------------------------
// Console errors and CSP violations

/**
 * Collects the page's console errors (Chromium reports CSP violations, failed loads and
 * uncaught exceptions there) from now on. Returns a function that throws if any were seen.
 * `ignore` is a list of RegExps for messages to let through.
 */
export function expectNoConsoleErrors(page, { ignore = [] } = {}) {
  const errors = [];
  const keep = (text) => ignore.some((re) => re.test(text)) || errors.push(text);
  page.on('console', (msg) => {
    if (msg.type() === 'error') {
      const { url, lineNumber } = msg.location();
      keep(url ? `${msg.text()} (${url}:${lineNumber})` : msg.text());
    }
  });
  page.on('pageerror', (err) => keep(`uncaught ${err.name}: ${err.message}`));
  return () => {
    if (errors.length > 0) {
      throw new Error(`${errors.length} console error(s) on ${page.url()}:\n  - ${errors.join('\n  - ')}`);
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Mail: the local aiosmtpd server (scripts/services.sh, tests/smtp/server.py) stores each
// message as one raw RFC 5322 file in a maildir, in new/ (or cur/ once read by a client).

/**
 * Waits for the newest message to `to` (matched case-insensitively against To, Cc and the
 * envelope headers aiosmtpd may add) whose decoded Subject contains `subject`, delivered at or
 * after `after` (ms since the epoch; the file's mtime). Returns { subject, text, html, file }
 * with the plain-text body decoded. Throws after `timeoutMs`, listing the messages it saw.
 */
export async function waitForMail({
  maildir = process.env.MAILDIR || '.dev/maildir',
  to,
  subject,
  after = 0,
  timeoutMs = 10_000,
} = {}) {
  const want = to?.toLowerCase();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = [];
    let older = 0;
    for (const { file, mtimeMs } of await listMaildir(maildir)) {
      if (mtimeMs < after) {
        older++;
        continue;
      }
      const raw = await readFile(file).catch(() => null); // moved to cur/ since the listing
      if (!raw) continue;
      const mail = parseMail(raw);
      const rcpts = ['to', 'cc', 'x-rcptto', 'delivered-to', 'x-original-to']
        .flatMap((h) => mail.headers.get(h) ?? [])
        .flatMap((v) => v.toLowerCase().match(/[^\s<>,;:"]+@[^\s<>,;"]+/g) ?? []);
      const ok = (!want || rcpts.includes(want)) && (!subject || mail.subject.includes(subject));
      if (ok) return { subject: mail.subject, text: mail.text, html: mail.html, file };
      seen.push(`${path.basename(file)}: to ${rcpts.join(', ') || '?'}, subject "${mail.subject}"`);
    }
    if (Date.now() > deadline) {
      const what = [to && `to ${to}`, subject && `subject containing "${subject}"`,
        after && `after ${new Date(after).toISOString()}`].filter(Boolean).join(', ');
      throw new Error(`no mail ${what} in ${maildir} within ${timeoutMs} ms; ` +
        `saw ${seen.length}${older ? ` (and ${older} older)` : ''}:` +
        seen.map((s) => `\n  - ${s}`).join(''));
    }
    await sleep(100);
  }
}

/** The maildir's delivered messages, newest first. */
async function listMaildir(maildir) {
  const out = [];
  for (const sub of ['new', 'cur']) {
    const dir = path.join(maildir, sub);
    const names = await readdir(dir).catch(() => []);
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const file = path.join(dir, name);
      const st = await stat(file).catch(() => null); // a client may move it meanwhile
      if (st?.isFile()) out.push({ file, mtimeMs: st.mtimeMs });
    }
  }
  return out.sort((a, b) => b.mtimeMs - a.mtimeMs);
}

/**
 * A small MIME reader, enough for dvc's mail (lettre: multipart/alternative with text and HTML
 * parts, quoted-printable or base64, RFC 2047 encoded-word subjects).
 */
export function parseMail(raw) {
  const { headers, body } = splitEntity(Buffer.from(raw));
  const parts = { text: null, html: null };
  collectParts(headers, body, parts);
  const stripped = parts.html?.replace(/<(style|script)[^]*?<\/\1>/gi, '').replace(/<[^>]+>/g, '');
  return {
    headers,
    subject: decodeWords(headers.get('subject')?.[0] ?? ''),
    text: parts.text ?? stripped ?? '',
    html: parts.html,
  };
}

// Headers (a Map of lower-case name → unfolded values) and the body bytes of one MIME entity.
function splitEntity(buf) {
  const s = buf.toString('latin1'); // byte-preserving
  const m = /\r?\n\r?\n/.exec(s);
  const head = m ? s.slice(0, m.index) : s;
  const body = m ? buf.subarray(m.index + m[0].length) : Buffer.alloc(0);
  const headers = new Map();
  for (const line of head.replace(/\r?\n[ \t]/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    // Raw header bytes are latin1 here; headers sent as 8-bit UTF-8 decode back properly.
    const value = Buffer.from(line.slice(i + 1).trim(), 'latin1').toString('utf8');
    headers.set(name, [...(headers.get(name) ?? []), value]);
  }
  return { headers, body };
}

// Walks multiparts depth first; keeps the first text/plain and text/html parts not attached.
function collectParts(headers, body, parts) {
  const ctype = headers.get('content-type')?.[0] ?? 'text/plain';
  const type = ctype.split(';')[0].trim().toLowerCase();
  if (type.startsWith('multipart/')) {
    const boundary = param(ctype, 'boundary');
    if (!boundary) return;
    const delim = `--${boundary}`;
    const chunks = body.toString('latin1').split(new RegExp(`\\r?\\n?${escapeRe(delim)}`));
    for (const chunk of chunks.slice(1)) {
      if (chunk.startsWith('--')) break; // the closing delimiter
      const inner = splitEntity(Buffer.from(chunk.replace(/^[ \t]*\r?\n/, ''), 'latin1'));
      collectParts(inner.headers, inner.body, parts);
    }
    return;
  }
  if (/^attachment/i.test(headers.get('content-disposition')?.[0] ?? '')) return;
  const key = type === 'text/plain' ? 'text' : type === 'text/html' ? 'html' : null;
  if (!key || parts[key] !== null) return;
  const cte = (headers.get('content-transfer-encoding')?.[0] ?? '7bit').trim().toLowerCase();
  const bytes = cte === 'base64' ? Buffer.from(body.toString('latin1'), 'base64')
    : cte === 'quoted-printable' ? decodeQP(body.toString('latin1'))
    : body;
  parts[key] = decodeCharset(bytes, param(ctype, 'charset')).replace(/\r\n/g, '\n');
}

// A Content-Type parameter, quoted or not.
function param(header, name) {
  const m = new RegExp(`;\\s*${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, 'i').exec(header);
  return m ? (m[1] ?? m[2]) : undefined;
}

function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// Quoted-printable (RFC 2045): soft line breaks, then =XX bytes.
function decodeQP(s) {
  const out = [];
  const text = s.replace(/=\r?\n/g, '');
  for (let i = 0; i < text.length; i++) {
    const hex = text[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3));
    out.push(hex ? parseInt(text.slice(i + 1, i + 3), 16) : text.charCodeAt(i));
    if (hex) i += 2;
  }
  return Buffer.from(out);
}

function decodeCharset(bytes, charset = 'utf-8') {
  try {
    return new TextDecoder(charset).decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes); // an unknown label
  }
}

// RFC 2047 encoded words (=?charset?B|Q?...?=); whitespace between two of them is dropped.
// Adjacent words of one charset are joined as bytes first: a word may split a UTF-8 sequence.
function decodeWords(value) {
  const word = /=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g;
  const tokens = [];
  let last = 0;
  for (const m of value.matchAll(word)) {
    const between = value.slice(last, m.index);
    if (!(tokens.at(-1)?.encoded && /^\s*$/.test(between)) && between) tokens.push({ text: between });
    const charset = m[1].split('*')[0].toLowerCase(); // drop an RFC 2231 language
    const bytes = m[2].toUpperCase() === 'B' ? Buffer.from(m[3], 'base64')
      : decodeQP(m[3].replace(/_/g, ' '));
    const prev = tokens.at(-1);
    if (prev?.encoded && prev.charset === charset) prev.bytes = Buffer.concat([prev.bytes, bytes]);
    else tokens.push({ encoded: true, charset, bytes });
    last = m.index + m[0].length;
  }
  if (last < value.length) tokens.push({ text: value.slice(last) });
  return tokens.map((t) => (t.encoded ? decodeCharset(t.bytes, t.charset) : t.text)).join('');
}

// ---------------------------------------------------------------------------------------------
// Links and one-time codes

/**
 * The first http(s) URL in `text` whose path starts with `pathPrefix`. Throws when there is
 * none, quoting the text, so a test fails where the link was expected.
 */
export function linkIn(text, pathPrefix = '/') {
  for (const [raw] of text.matchAll(/https?:\/\/[^\s<>"'`]+/g)) {
    const href = raw.replace(/[.,;:!?)\]}]+$/, ''); // sentence punctuation after the URL
    try {
      if (new URL(href).pathname.startsWith(pathPrefix)) return href;
    } catch { /* not a URL after all */ }
  }
  throw new Error(`no link to ${pathPrefix}… in:\n${text}`);
}

/** The RFC 6238 TOTP code (HMAC-SHA-1, 30 s steps, 6 digits) for a base32 secret at `at` ms. */
export function totp(base32Secret, at = Date.now(), { digits = 6, step = 30 } = {}) {
  const key = base32Decode(base32Secret);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / step)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f; // dynamic truncation, RFC 4226 section 5.3
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return String(code).padStart(digits, '0');
}

/** RFC 4648 base32 (case, spaces and padding ignored). */
export function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = [];
  let bits = 0;
  let acc = 0;
  for (const c of s.toUpperCase().replace(/[\s=-]/g, '')) {
    const v = alphabet.indexOf(c);
    if (v < 0) throw new Error(`not base32: ${JSON.stringify(c)}`);
    acc = ((acc << 5) | v) & 0xffff; // never more than 12 bits pending
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((acc >>> bits) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

/** Runs an action that submits a form; returns the status of the document it leads to. */
export async function submit(page, action) {
  const [response] = await Promise.all([
    page.waitForEvent('response', (r) => r.request().isNavigationRequest() && r.request().method() === 'POST'),
    action(),
  ]);
  await page.waitForLoadState('domcontentloaded');
  // A redirect after POST: the status of the page finally shown.
  const final = await response.request().redirectedTo()?.response();
  return (final ?? response).status();
}

/** A required environment variable. */
export function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

/** The sign-in host's form with a password and the authenticator's code for `secret`. */
export async function signInWithTotp(page, email, password, secret) {
  await page.waitForURL(/\/oauth\/authorize/);
  await page.getByLabel('Thư điện tử').fill(email);
  await page.getByLabel('Mật khẩu', { exact: true }).fill(password);
  await page.getByLabel('Mã xác thực').fill(totp(secret));
  await page.getByRole('button', { name: 'Đăng nhập' }).click();
}
