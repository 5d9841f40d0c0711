// End-to-end test of the page session's durability: calls through the AWS SDK (KinesimRequestHandler on
// `kinesim.pageSession()`) resolve only once their journal entry is committed to IndexedDB, the UI shows what the
// SDK made, a second tab refuses writes through the API, and a full disk (a small storage quota set over the
// DevTools protocol) fails calls with a clear message while everything acknowledged before survives a reload.
// Run after `trunk build index.html --release`: node --test tests/e2e/durable.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import {
  serveStatic, SUB_PATH, watchProblems, CHROMIUM, CHROMIUM_ARGS, openProfile, launchKillable,
} from './support.mjs';

const TIMEOUT_MS = 20_000;
/** The storage quota of the full-disk test, in bytes. */
const SMALL_QUOTA_BYTES = 4 * 1024 * 1024;

let server;
let baseUrl;
let origin;
const problems = [];

before(async () => {
  server = await serveStatic();
  origin = `http://127.0.0.1:${server.address().port}`;
  baseUrl = `${origin}${SUB_PATH}`;
});

after(async () => {
  await new Promise((ok) => server?.close(ok));
});

const ready = (p) => p.waitForSelector('#session-status[data-state="ready"]');

/** Sum of a stream's IncomingRecords metric (read-only: not an input to the session). */
const incomingRecords = (p, stream) => p.evaluate((stream) => kinesim.pageSession().metrics(stream)
  .filter((m) => m.metric === 'IncomingRecords')
  .reduce((sum, m) => sum + m.value, 0), stream);

test('an SDK call resolves after its journal entry is stored: killing the browser right after loses nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kinesim-durable-'));
  try {
    const { child, browser } = await launchKillable(dir, TIMEOUT_MS);
    const p = browser.contexts()[0].pages()[0] ?? (await browser.contexts()[0].newPage());
    p.setDefaultTimeout(TIMEOUT_MS);
    watchProblems(p, problems);
    await p.goto(baseUrl);
    await ready(p);
    const out = await p.evaluate(async () => {
      const sdk = await kinesimPlayground.loadSdk();
      const session = kinesim.pageSession();
      const { kinesis } = kinesimPlayground.clients(sdk, session);
      await kinesis.send(new sdk.kinesis.CreateStreamCommand({ StreamName: 'durable', ShardCount: 2 }));
      session.advanceBy(10_000);
      await session.committed();
      const sequenceNumbers = [];
      for (let i = 0; i < 20; i += 1) {
        const put = await kinesis.send(new sdk.kinesis.PutRecordCommand({
          StreamName: 'durable', PartitionKey: `k${i}`, Data: new TextEncoder().encode(`record ${i}`),
        }));
        sequenceNumbers.push(put.SequenceNumber);
      }
      return { hash: session.eventLogHash(), acked: sequenceNumbers.length };
    });
    // Right after the last acknowledgement: no pagehide, no unload, no autosave tick to wait for.
    child.kill('SIGKILL');
    await new Promise((ok) => child.once('exit', ok));
    await browser.close().catch(() => {});

    const reopened = await openProfile(dir);
    try {
      const q = reopened.pages()[0] ?? (await reopened.newPage());
      q.setDefaultTimeout(TIMEOUT_MS);
      watchProblems(q, problems);
      await q.goto(baseUrl);
      await ready(q);
      assert.equal(await q.evaluate(() => kinesim.pageSession().eventLogHash()), out.hash,
        'the reopened session is the one the last acknowledged call left');
      assert.equal(await incomingRecords(q, 'durable'), out.acked, 'every acknowledged record is there');
      await q.waitForSelector('nav.sidebar a:has-text("durable")');
    } finally {
      await reopened.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the UI shows a stream made through the SDK, keeps the clock speed, and a second tab refuses API writes', async () => {
  const profile = await mkdtemp(join(tmpdir(), 'kinesim-durable-'));
  const context = await openProfile(profile);
  try {
    context.setDefaultTimeout(TIMEOUT_MS);
    const page = context.pages()[0] ?? (await context.newPage());
    watchProblems(page, problems);
    await page.goto(baseUrl);
    await ready(page);
    await page.evaluate(async () => {
      const sdk = await kinesimPlayground.loadSdk();
      const { kinesis } = kinesimPlayground.clients(sdk, kinesim.pageSession());
      await kinesis.send(new sdk.kinesis.CreateStreamCommand({ StreamName: 'from-sdk', ShardCount: 1 }));
    });
    await page.waitForSelector('nav.sidebar a:has-text("from-sdk")');
    await page.click('nav.sidebar a:has-text("from-sdk")');
    await page.waitForFunction(() => document.querySelector('#content')?.textContent.includes('from-sdk'));
    const hash = await page.evaluate(() => kinesim.pageSession().eventLogHash());

    // The clock speed is a UI preference of the session (schema version 2's `prefs` store): it survives a reload.
    await page.click('nav.sidebar a:has-text("Dashboard")');
    await ready(page);
    await page.click('button[data-speed="10"]');
    await page.waitForFunction(() => new Promise((ok) => {
      const open = indexedDB.open('kinesim');
      open.onerror = () => ok(false);
      open.onsuccess = () => {
        const db = open.result;
        const get = db.transaction('prefs').objectStore('prefs').get('default');
        get.onerror = () => { db.close(); ok(false); };
        get.onsuccess = () => { db.close(); ok(String(get.result ?? '').includes('"speed":10')); };
      };
    }));
    await page.reload();
    await ready(page);
    await page.waitForSelector('button[data-speed="10"][aria-pressed="true"]');
    assert.equal(await page.evaluate(() => kinesim.pageSession().eventLogHash()), hash, 'the reload restores the run');

    const second = await context.newPage();
    watchProblems(second, problems);
    await second.goto(baseUrl);
    await second.waitForSelector('#session-status[data-state="read-only"]');
    const refused = await second.evaluate(async () => {
      const sdk = await kinesimPlayground.loadSdk();
      const session = kinesim.pageSession();
      const { kinesis } = kinesimPlayground.clients(sdk, session);
      let sdkError = null;
      try {
        await kinesis.send(new sdk.kinesis.CreateStreamCommand({ StreamName: 'second', ShardCount: 1 }));
      } catch (error) {
        sdkError = { name: error.name, message: error.message, status: error.$metadata?.httpStatusCode };
      }
      let advanceError = null;
      try {
        session.advanceBy(1_000);
      } catch (error) {
        advanceError = error.message;
      }
      return { sdkError, advanceError, now: session.now() };
    });
    assert.equal(refused.sdkError?.name, 'AccessDeniedException');
    assert.equal(refused.sdkError?.status, 400);
    assert.match(refused.sdkError?.message, /open in another tab.*read-only/);
    assert.match(refused.advanceError ?? '', /read-only/);
    assert.equal(await page.evaluate(() => kinesim.pageSession().eventLogHash()), hash, 'the writer is untouched');
    await second.close();
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
});

test('a full disk fails calls with a clear message; what was acknowledged survives a reload', async (t) => {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    const context = await browser.newContext();
    context.setDefaultTimeout(TIMEOUT_MS);
    const page = await context.newPage();
    watchProblems(page, problems);
    // The quota is set before the site opens its database (an override set later did not apply).
    const cdp = await context.newCDPSession(page);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: SMALL_QUOTA_BYTES });
    await page.goto(baseUrl);
    await ready(page);
    // A producer of incompressible 256 KiB records, one per simulated second (the shard's 1 MiB/s limit),
    // until a call fails.
    const run = await page.evaluate(async () => {
      const sdk = await kinesimPlayground.loadSdk();
      const session = kinesim.pageSession();
      const { kinesis } = kinesimPlayground.clients(sdk, session);
      await kinesis.send(new sdk.kinesis.CreateStreamCommand({ StreamName: 'fill', ShardCount: 1 }));
      session.advanceBy(10_000);
      const hashes = [session.eventLogHash()];
      let acked = 0;
      let failure = null;
      for (let i = 0; i < 200 && !failure; i += 1) {
        const data = new Uint8Array(256 * 1024);
        for (let at = 0; at < data.length; at += 65_536) crypto.getRandomValues(data.subarray(at, at + 65_536));
        session.advanceBy(1_000);
        try {
          await kinesis.send(new sdk.kinesis.PutRecordCommand({ StreamName: 'fill', PartitionKey: 'p', Data: data }));
          acked += 1;
          hashes.push(session.eventLogHash());
        } catch (error) {
          failure = { name: error.name, message: error.message };
        }
      }
      return { acked, failure, hashes, inMemory: session.eventLogHash() };
    });
    assert.ok(run.failure, `the quota was hit (${run.acked} records acknowledged)`);
    assert.ok(run.acked > 0, 'records were acknowledged before the disk filled');
    assert.match(run.failure.message, /Not saved: Browser storage is full/);
    t.diagnostic(`${run.acked} records of 256 KiB acknowledged before the quota was hit`);
    await page.waitForFunction(() => document.querySelector('#session-message')?.textContent.includes('storage is full'));
    // The session stays usable and readable in this tab: the failed call took effect in memory.
    assert.equal(await incomingRecords(page, 'fill'), run.acked + 1);
    const status = await page.evaluate(() => JSON.parse(kinesim.pageSession()
      .send('Kinesis_20131202.DescribeStreamSummary', '{"StreamName":"fill"}').body).StreamDescriptionSummary.StreamStatus);
    assert.equal(status, 'ACTIVE');

    await page.reload();
    await ready(page);
    const restored = await incomingRecords(page, 'fill');
    assert.ok(restored >= run.acked, `restored ${restored} records; ${run.acked} were acknowledged`);
    const hash = await page.evaluate(() => kinesim.pageSession().eventLogHash());
    assert.ok([...run.hashes, run.inMemory].includes(hash), 'the restored session is a state the run went through');
    await cdp.detach();
  } finally {
    await browser.close();
  }
});

test('no console errors or page errors', () => {
  // A refused write (read-only tab) and a failed commit are answers, not errors.
  assert.deepEqual(problems.filter((p) => !/QuotaExceeded|status of 400/.test(p)), []);
});
