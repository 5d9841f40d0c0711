// Analytics in the browser, as a new user takes it: create a stream and a clickstream producer, create an analytics
// application from the tumbling-window template (page views per page every 10 s), play time, see rows in the live
// table and a chart; a broken SQL edit shows its line and column under the editor with the line marked.
// Screenshots land in tests/e2e/output/analytics-*.png. Fails on any console error.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { appTour } from './support.mjs';

const tour = appTour('analytics');
const { problems, shot, speed, runFor } = tour;
let page;
let baseUrl;
before(async () => {
  await tour.ready;
  ({ page, baseUrl } = tour);
});

test('a stream with a clickstream producer', async () => {
  await tour.createStream('clickstream', 2);
  await page.selectOption('#p-template', 'clickstream');
  await page.fill('#p-rate', '50');
  await page.click('#start-producer');
  await page.waitForSelector('li[data-producer="clickstream"]');
  await speed(10);
  await runFor(3_000);
});

test('a broken SQL edit is marked with its line and column', async () => {
  await page.click('nav.sidebar a:has-text("Applications")');
  await page.waitForSelector('#create-app');
  await page.waitForSelector('#sql-ok');
  const sql = await page.inputValue('#app-sql');
  await page.fill('#app-sql', sql.replace('COUNT(*) AS "views"', 'COUNT(*) AS "views",,'));
  await page.waitForSelector('#sql-error');
  assert.match(await page.textContent('#sql-error'), /^Line \d+, column \d+: /);
  assert.equal(await page.locator('.sql-line.err-line').count(), 1);
  await shot('1-sql-error', '#new-app-h');
  await page.selectOption('#app-template', 'tumbling');
  await page.waitForSelector('#sql-ok');
});

test('a tumbling COUNT per page: rows in the table and a chart', async () => {
  await page.click('#create-app-btn');
  await page.waitForSelector('[role="status"]:has-text("created")');
  await page.click('#apps-table a:has-text("clicks-per-page")');
  await page.waitForSelector('#app-status');
  assert.equal(await page.textContent('#app-status'), 'RUNNING');
  await speed(10);
  await runFor(35_000);
  const rows = await page.locator('#rows-destination-sql-stream tbody tr').count();
  assert.ok(rows >= 5, `rows ${rows}`);
  assert.match(await page.textContent('#rows-destination-sql-stream'), /\/home|\/search|\/product|\/cart|\/checkout/);
  assert.ok((await page.locator('#analytics-chart .series').count()) >= 2, 'one line per page');
  assert.ok((await page.locator('.legend li').count()) >= 2);
  await shot('2-app', '.page-head');
  await shot('3-table', '#rows-destination-sql-stream');
  await page.click('nav.sidebar a:has-text("Dashboard")');
  await page.waitForSelector('#analytics-h');
  assert.match(await page.textContent('#events'), /analytics clicks-per-page: created/);
});

test('no console errors', () => {
  assert.deepEqual(problems, []);
});
