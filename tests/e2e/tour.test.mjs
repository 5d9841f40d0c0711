// The tour a new user takes, in Debian's Chromium against the release build served under a sub-path:
// create a stream, start a clickstream producer with hot keys, see throttling, split the hot shard, see throttling
// stop; start a consumer at TRIM_HORIZON and replay; open the record inspector. Screenshots land in
// tests/e2e/output/tour-*.png. Fails on any console error.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { appTour } from './support.mjs';

const tour = appTour('tour');
const { problems, shot, simMs, speed, play, pause, runFor, assertNoSidewaysScroll } = tour;
let page;
let baseUrl;
before(async () => {
  await tour.ready;
  ({ page, baseUrl } = tour);
});
const number = async (selector) => Number((await page.textContent(selector)).replace(/[^0-9]/g, ''));

test('create a stream: it is CREATING, then ACTIVE, at its own address', async () => {
  await page.goto(baseUrl);
  await page.waitForSelector('#create-stream');
  await page.fill('#new-stream-name', 'clickstream');
  await page.fill('#new-stream-shards', '2');
  await page.click('#create-stream');
  await page.waitForSelector('#stream-title');
  assert.match(page.url(), /#\/streams\/clickstream$/);
  assert.equal(await page.textContent('#stream-status'), 'CREATING');
  await speed(100);
  await play();
  await page.waitForFunction(() => document.querySelector('#stream-status')?.textContent === 'ACTIVE');
  await pause();
  assert.equal(await page.textContent('#open-shards'), '2');
  assert.equal(await page.locator('.shard-map .segment').count(), 2);
});

test('a bad shard count is refused with a clear message, not sent', async () => {
  await page.goto(`${baseUrl}#/`);
  await page.fill('#new-stream-name', 'bad name!');
  await page.click('#create-stream');
  assert.match(await page.textContent('[role="alert"]'), /letters, digits/);
  await page.fill('#new-stream-name', 'clickstream');
  await page.click('#create-stream');
  assert.match(await page.textContent('[role="alert"]'), /ResourceInUseException/);
  await page.click('nav.sidebar a:has-text("clickstream")');
  await page.waitForSelector('#stream-title');
});

test('a clickstream producer with hot keys throttles its shard', async () => {
  await page.selectOption('#p-template', 'clickstream');
  await page.fill('#p-rate', '1400');
  await page.selectOption('#p-dist', 'hot');
  await page.fill('#p-hot', '2');
  await page.fill('#p-hot-pct', '80');
  await page.click('#start-producer');
  await page.waitForSelector('li[data-producer="clickstream"]');
  await speed(10);
  await runFor(10_000);
  const throttled = await number('li[data-producer="clickstream"] .throttled');
  assert.ok(throttled > 0, `throttled ${throttled}`);
  assert.ok((await number('#throttled-minute')) > 0);
  assert.ok((await page.locator('#hot-keys li').count()) >= 1, 'hot keys are marked on the map');
  await shot('1-throttling', '.stream-page .page-head');
});

test('split the hot shard at its middle: throttling stops', async () => {
  // The hot shard is the one with throttled writes this minute.
  const hot = await page.$$eval('#shards-table tr[data-shard]', (rows) =>
    rows.map((r) => ({ id: r.dataset.shard, n: Number(r.querySelector('[data-throttled]')?.dataset.throttled ?? 0) }))
      .sort((a, b) => b.n - a.n)[0].id);
  await page.click(`#shards-table tr[data-shard="${hot}"] button:has-text("Select")`);
  assert.notEqual(await page.inputValue('#split-key'), '');
  await page.click('#split');
  await page.waitForSelector('#stream-status:has-text("UPDATING")');
  await shot('2-splitting', '#map-h');
  await speed(100);
  await play();
  await page.waitForFunction(() => document.querySelector('#open-shards')?.textContent === '3');
  await pause();
  await speed(10);
  await runFor(3_000); // let the last second's window fill with post-split traffic
  const before = await number('li[data-producer="clickstream"] .throttled');
  await runFor(15_000);
  const after = await number('li[data-producer="clickstream"] .throttled');
  assert.equal(after, before, 'no record throttled after the split');
  assert.equal(await page.locator('#shards-table tr.closed').count(), 1, 'the parent is kept, closed');
  assert.match(await page.textContent('#shards-table'), /split from #1/);
  await shot('3-split', '#map-h');
});

test('the shards table fits a 1280x720 laptop and a 1920x1080 screen without sideways scrolling', async () => {
  // Five shards rows with lineage (the closed parent, its two children) are on the page now.
  await assertNoSidewaysScroll('#shards-table');
  await shot('3b-shards-1280x720', '#shards-h');
  await page.setViewportSize({ width: 1920, height: 1080 });
  try {
    await assertNoSidewaysScroll('#shards-table');
    await shot('3c-shards-1920x1080', '#shards-h');
  } finally {
    await page.setViewportSize({ width: 1280, height: 720 });
  }
});

test('a consumer at TRIM_HORIZON reads everything, follows the split, and replays', async () => {
  await page.selectOption('#c-type', 'TRIM_HORIZON');
  await page.click('#start-consumer');
  await page.waitForSelector('li[data-consumer="reader"]');
  await runFor(5_000);
  const read = await number('li[data-consumer="reader"] .records-read');
  assert.ok(read >= 5_000, `read ${read}`);
  await page.click('li[data-consumer="reader"] button.replay');
  await page.waitForSelector('[role="status"]:has-text("replays from TRIM_HORIZON")');
  await runFor(5_000);
  const again = await number('li[data-consumer="reader"] .records-read');
  assert.ok(again - read > 5_000, `read ${read}, then ${again} after the replay`);
  assert.match(await page.textContent('li[data-consumer="reader"] .recent'), /user-/);
  await shot('4-consumer', '#consumers-h');
});

test('the record inspector renders only the rows in view and shows data as text', async () => {
  await page.click('#shards-table tr.closed a:has-text("Records")');
  await page.waitForSelector('#records');
  assert.match(page.url(), /#\/streams\/clickstream\/shards\/shardId-/);
  const rendered = Number(await page.getAttribute('#rows-rendered', 'data-rendered'));
  const total = Number(await page.getAttribute('#records', 'aria-rowcount'));
  assert.ok(total > 1_000 && rendered < 60, `${rendered} of ${total} rendered`);
  await page.click('#jump-newest');
  await page.click('button:has-text("JSON")');
  await page.locator('.rec-row').last().locator('.rec-open').click();
  assert.match(await page.textContent('.data-full'), /"user": "user-/);
  await shot('5-inspector');
});

test('an agent-style producer streams the lines of a log file, then finishes', async () => {
  await page.click('.crumbs a');
  await page.waitForSelector('#log-file');
  const lines = Array.from({ length: 30 }, (_, i) => `2026-01-01 INFO request ${i} <b>not html</b>`).join('\n');
  await page.setInputFiles('#log-file', { name: 'app.log', mimeType: 'text/plain', buffer: Buffer.from(lines) });
  await page.waitForSelector('li[data-producer="agent:app.log"]');
  await runFor(2_000);
  assert.equal(await number('li[data-producer="agent:app.log"] .acked'), 30);
  assert.match(await page.textContent('li[data-producer="agent:app.log"] .badge'), /FINISHED/);
  assert.equal(await page.locator('b:has-text("not html")').count(), 0, 'record data is never markup');
});

test('no console errors, failed requests or page errors', () => {
  assert.deepEqual(problems, []);
});
