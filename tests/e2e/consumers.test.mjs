// Consumers on the stream page, as a learner takes them: a KPL producer writes aggregated records; an enhanced
// fan-out consumer is registered, goes CREATING -> ACTIVE and subscribes to every shard; a KCL application starts
// with 2 workers that split the leases; killing one moves its leases to the other after the failover time.
// Screenshots land in tests/e2e/output/consumers-*.png. Fails on any console error.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { appTour } from './support.mjs';

const tour = appTour('consumers');
const { problems, shot, speed, runFor, assertNoSidewaysScroll } = tour;
let page;
let baseUrl;
before(async () => {
  await tour.ready;
  ({ page, baseUrl } = tour);
});
const owners = () =>
  page.$$eval('li[data-kcl-app="kcl-app"] .lease-table tbody tr .lease-owner', (cells) => cells.map((c) => c.textContent));

test('a stream with a KPL producer', async () => {
  await tour.createStream('orders', 2);
  await page.selectOption('#p-library', 'kpl');
  await page.fill('#p-name', 'orders-kpl');
  await page.fill('#p-rate', '100');
  await page.click('#start-producer');
  await page.waitForSelector('li[data-kpl-producer="orders-kpl"]');
  await speed(10);
  await runFor(3_000);
  const delivered = await page.textContent('li[data-kpl-producer="orders-kpl"] .kpl-delivered');
  assert.ok(Number(delivered.replace(/[^0-9]/g, '')) > 0, `user records put: ${delivered}`);
});

test('an enhanced fan-out consumer is registered, becomes ACTIVE and subscribes', async () => {
  await page.fill('#efo-name', 'fanout');
  await page.click('#register-efo');
  await page.waitForSelector('li[data-efo-consumer="fanout"]');
  assert.equal(await page.textContent('li[data-efo-consumer="fanout"] .efo-status'), 'CREATING');
  await runFor(6_000);
  await page.waitForFunction(
    () => document.querySelector('li[data-efo-consumer="fanout"] .efo-status')?.textContent === 'ACTIVE',
  );
  await page.click('li[data-efo-consumer="fanout"] button:has-text("Subscribe to shards")');
  await page.waitForSelector('li[data-efo-consumer="fanout"] .efo-rate');
  await runFor(3_000);
  assert.equal(await page.locator('li[data-efo-consumer="fanout"] .efo-rate').count(), 2, 'one row per shard');
  await shot('1-fan-out', '#fan-out');
});

test('a KCL application with 2 workers; a killed worker\'s leases move', async () => {
  await page.fill('#kcl-workers', '2');
  await page.click('#start-kcl');
  await page.waitForSelector('li[data-kcl-app="kcl-app"]');
  await runFor(25_000);
  const before = await owners();
  assert.equal(before.length, 2, `two leases: ${before}`);
  assert.deepEqual([...before].sort(), ['worker-1', 'worker-2'], `one lease each: ${before}`);
  await shot('2-kcl-balanced', '#kcl');
  // The lease table (and the fan-out table above it) fit a 1280x720 laptop and a 1920x1080 screen.
  for (const table of ['li[data-kcl-app="kcl-app"] .lease-table', '#fan-out table']) await assertNoSidewaysScroll(table);
  await page.setViewportSize({ width: 1920, height: 1080 });
  try {
    for (const table of ['li[data-kcl-app="kcl-app"] .lease-table', '#fan-out table']) await assertNoSidewaysScroll(table);
    await shot('2b-kcl-1920x1080', '#kcl');
  } finally {
    await page.setViewportSize({ width: 1280, height: 720 });
  }
  await page.click('button[aria-label="Kill worker-1 of kcl-app"]');
  await page.waitForSelector('li[data-worker="worker-1"] .badge.closed');
  await runFor(45_000);
  const after = await owners();
  assert.deepEqual(after, ['worker-2', 'worker-2'], `worker-2 took worker-1's lease: ${after}`);
  await shot('3-kcl-failover', '#kcl');
  await page.click('button[aria-label="Restart worker-1 of kcl-app"]');
  await page.waitForSelector('li[data-worker="worker-1"] .badge.active');
});

test('no console errors', () => {
  assert.deepEqual(problems, []);
});
