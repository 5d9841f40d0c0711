// Firehose to Redshift, in Debian's Chromium against the release build: create a delivery stream with a Redshift
// table from the create form, put test records, let the 60 s interval flush them to the staging bucket and the COPY
// load them, then see the table with its row count on the delivery stream's page and query it with SQL.
// Screenshots land in tests/e2e/output/redshift-*.png. Fails on any console error.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { appTour } from './support.mjs';

const tour = appTour('redshift');
const { problems, shot, speed, play, pause, runFor } = tour;
let page;
let baseUrl;
before(async () => {
  await tour.ready;
  ({ page, baseUrl } = tour);
});

test('create a delivery stream that COPYs into a Redshift table', async () => {
  await page.goto(`${baseUrl}#/firehose`);
  await page.waitForSelector('#create-delivery-stream');
  await page.fill('#fh-name', 'clicks-to-redshift');
  await page.fill('#fh-bucket', 'staging-bucket');
  await page.fill('#fh-interval', '60');
  await page.fill('#fh-redshift-table', 'clicks');
  await page.click('#create-delivery-stream');
  await page.waitForSelector('#fh-title');
  assert.match(page.url(), /#\/firehose\/clicks-to-redshift$/);
  await page.waitForSelector('#rs-card');
  await speed(10);
  await play();
  await page.waitForFunction(() => document.querySelector('#fh-status')?.textContent === 'ACTIVE');
  await pause();
});

test('after the interval the records are staged, COPYed and the table answers SQL', async () => {
  await page.fill('#fh-test-n', '30');
  await page.click('#put-test-records');
  await page.waitForSelector('[role="status"]:has-text("Put 30 records")');
  await runFor(65_000);
  const flushes = await page.textContent('#fh-flushes');
  assert.match(flushes, /s3:\/\/staging-bucket\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/clicks-to-redshift-/);
  assert.match(flushes, /COPY into Redshift/);
  const tables = await page.textContent('#rs-tables');
  assert.match(tables, /clicks/);
  assert.match(tables, /30/);
  await page.fill('#rs-sql', 'SELECT customer, COUNT(*) AS n FROM clicks GROUP BY customer ORDER BY customer');
  await page.click('#rs-run');
  await page.waitForSelector('#rs-sql-result');
  const result = await page.textContent('#rs-sql-result');
  assert.match(result, /c0\s*10/);
  assert.match(result, /c2\s*10/);
  await shot('1-query', '#rs-h');
});

test('a bad query is answered with a message, not a crash', async () => {
  await page.fill('#rs-sql', 'SELECT nope FROM clicks');
  await page.click('#rs-run');
  await page.waitForSelector('#rs-sql-error');
  assert.match(await page.textContent('#rs-sql-error'), /unknown column/i);
});

test('no console errors, failed requests or page errors', () => {
  assert.deepEqual(problems, []);
});
