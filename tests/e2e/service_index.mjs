// The service index page (Chỉ số phục vụ, Decision 766) in Debian's Chromium: public on a
// province's portal on a phone and a desktop, in Vietnamese and English, checked by axe-core,
// with no personal data of the applicants anywhere on it (FORBIDDEN: a JSON list of their
// names, numbers and dossier codes); the month selector and the CSV download work; a leader
// signed in sees the late dossiers of each unit, the late one (LATE_CODE) among them. Run by
// tests/integration/service_index.rs, which generates the dossiers. Prints `RESULT {json}` last.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import {
  checkA11y, env, expectNoConsoleErrors, launch, newContext, screenshot, signInWithTotp,
} from './lib.mjs';

const A = env('BASE_A');
const PASSWORD = env('PASSWORD');
const LEADER = env('LEADER_EMAIL');
const LEADER_TOTP = env('LEADER_TOTP');
const LATE_CODE = env('LATE_CODE');
const FORBIDDEN = JSON.parse(env('FORBIDDEN'));
const result = {};

/** Throws when the page shows any of the applicants' personal data. */
async function noPersonalData(page, label) {
  const html = await page.content();
  for (const item of FORBIDDEN) {
    assert(!html.includes(item), `${label} shows ${item}`);
  }
}

const browser = await launch();
try {
  // --- Public, on a phone and a desktop -------------------------------------------------------
  for (const width of [360, 1280]) {
    const page = await (await newContext(browser, { width })).newPage();
    const noConsoleErrors = expectNoConsoleErrors(page);
    await page.goto(`${A}/chi-so-phuc-vu`);
    await page.getByRole('heading', { level: 1, name: 'Chỉ số phục vụ người dân, doanh nghiệp' }).waitFor();
    await page.getByRole('heading', { name: 'Tiến độ giải quyết' }).waitFor();
    await checkA11y(page, `index vi ${width}`);
    await noPersonalData(page, `index vi ${width}`);
    await screenshot(page, `service-index/public-${width}`);
    noConsoleErrors();
    if (width === 1280) {
      // The footer links here from every page; /thong-ke links here too.
      await page.goto(`${A}/thong-ke`);
      await page.getByRole('link', { name: /Chỉ số phục vụ người dân, doanh nghiệp theo Quyết định 766/ }).click();
      await page.waitForURL(/\/chi-so-phuc-vu$/);
      // Last year, through the year selector.
      const year = String(new Date().getFullYear() - 1);
      await page.getByLabel('Theo năm').selectOption(year);
      await page.getByRole('button', { name: 'Xem' }).nth(1).click();
      await page.waitForURL(new RegExp(`year=${year}`));
      await page.getByText(`Năm ${year}`).first().waitFor();
      result.year_selected = true;
      // The CSV the page offers: the national reporting's file, with its header.
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: 'Tải số liệu (CSV)' }).click(),
      ]);
      assert.match(download.suggestedFilename(), new RegExp(`^chi-so-phuc-vu-tinh-a-${year}\\.csv$`));
      const text = await readFile(await download.path(), 'utf8');
      assert(text.replace(/^\uFEFF/, '').startsWith('tenant,period,group,indicator'), text.slice(0, 80));
      result.csv = true;
      // English, through the language switch.
      await page.getByRole('button', { name: 'English' }).click();
      await page.getByRole('heading', { level: 1, name: 'Service index for citizens and businesses' }).waitFor();
      await page.getByRole('heading', { name: 'Progress' }).waitFor();
      await checkA11y(page, 'index en');
      await noPersonalData(page, 'index en');
      await screenshot(page, 'service-index/public-en');
      result.english = true;
    }
  }
  result.public = true;

  // --- A leader's drill-down to late dossiers per unit ---------------------------------------
  const leader = await (await newContext(browser, { width: 1280 })).newPage();
  const noConsoleErrors = expectNoConsoleErrors(leader);
  await leader.goto(`${A}/lanh-dao/chi-so-phuc-vu`);
  await signInWithTotp(leader, LEADER, PASSWORD, LEADER_TOTP);
  await leader.waitForURL(/\/lanh-dao\/chi-so-phuc-vu/);
  await leader.getByRole('heading', { name: 'Hồ sơ trễ hạn theo đơn vị' }).waitFor();
  await leader.locator('details summary').first().click();
  await leader.getByRole('link', { name: LATE_CODE }).waitFor();
  await checkA11y(leader, 'index leader');
  await screenshot(leader, 'service-index/leader');
  noConsoleErrors();
  result.leader_sees_late = true;
} finally {
  await browser.close();
}
console.log(`RESULT ${JSON.stringify(result)}`);
