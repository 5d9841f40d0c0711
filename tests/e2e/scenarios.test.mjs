// A new user plays guided scenarios in Debian's Chromium against the release build served under a sub-path, through
// the UI alone (clicks and typing): Firehose size-versus-interval buffering, then transform failures landing in the
// error prefix (the function 'clean' runs in the page's sandbox worker). Progress survives a reload (the checks'
// passes are notes in the session, kept in IndexedDB), and a scenario restarts from its seeded setup. The HTTP endpoint
// scenario is played through the page's "endpoint you play" panel (collector.example.com is never fetched). A run that
// the page's shells took part in (the transform's sandbox, the played endpoint) shares as a link that rebuilds the same
// event-log hash.
// Screenshots land in tests/e2e/output/scenarios-*.png. Fails on any console error.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { appTour } from './support.mjs';

const tour = appTour('scenarios', { viewport: { width: 1280, height: 900 }, timeoutMs: 30_000, fullPage: true });
const { problems, shot, simMs } = tour;
let page;
let baseUrl;
before(async () => {
  await tour.ready;
  ({ page, baseUrl } = tour);
});
const checkStatus = (id) => page.getAttribute(`li[data-check="${id}"]`, 'data-status');
const waitCheck = (id, status) => page.waitForSelector(`li[data-check="${id}"][data-status="${status}"]`);
const openScenarios = async () => {
  await page.click('nav.sidebar a:has-text("Scenarios")');
  await page.waitForSelector('.scenario-list');
};
/** Sends `count` records of `data` (padded to `pad` bytes) to `target` with the scenario page's form. */
const send = async (target, data, count, pad = 0) => {
  await page.selectOption('#send-target', target);
  await page.fill('#send-data', data);
  await page.fill('#send-count', String(count));
  await page.fill('#send-pad', String(pad));
  await page.click('#send-records');
  await page.waitForSelector(`[role="status"]:has-text("${count} records accepted")`);
};
/** Everything the page did is committed to IndexedDB (the dashboard shows both hashes). */
const settled = () => page.waitForFunction(() => {
  const saved = document.querySelector('#session-status')?.dataset.savedHash ?? '';
  const shown = document.querySelector('#event-hash')?.textContent ?? '';
  return saved.length === 64 && saved.startsWith(shown);
});

test('the scenario list offers every scenario, and the three Firehose and windows ones are playable', async () => {
  await page.goto(baseUrl);
  await page.waitForSelector('#session-status[data-state="ready"]');
  await openScenarios();
  const items = await page.$$eval('.scenario-list li', (lis) => lis.map((li) => li.dataset.scenario));
  assert.ok(items.length >= 12, `${items.length} scenarios`);
  for (const id of ['firehose-buffering', 'transform-errors', 'windows']) {
    assert.equal(await page.locator(`li[data-scenario="${id}"] .soon`).count(), 0, `${id} is not "core only"`);
  }
  await shot('1-list');
});

test('Firehose buffering: one delivery stream flushes on size, the other on its interval', async () => {
  await page.click('li[data-scenario="firehose-buffering"] a');
  await page.waitForSelector('#scenario-start');
  await page.click('#scenario-start');
  await page.waitForSelector('#scenario-controls');
  assert.equal(await checkStatus('size-flush'), 'pending');
  assert.equal(await checkStatus('interval-flush'), 'pending');
  // 400 records of 3,000 bytes: more than the 1 MiB size hint.
  await send('firehose:by-size', 'row {i}', 400, 3000);
  await send('firehose:by-interval', 'small {i}', 5);
  await page.click('#scenario-play-minute');
  await waitCheck('size-flush', 'pass');
  await waitCheck('interval-flush', 'pass');
  await page.waitForSelector('#scenario-explanation');
  assert.match(await page.textContent('#scenario-explanation'), /BufferingHints/);
  assert.match(await page.textContent('li[data-check="size-flush"]'), /1 MiB buffer filled/);
  await shot('2-buffering-done');
  // The delivery stream's own page shows the flush reason.
  await page.click('.scenario-links a:has-text("Delivery stream by-size")');
  await page.waitForSelector('#fh-flushes');
  assert.match(await page.textContent('#fh-flushes'), /size hint reached/);
  await shot('3-by-size-page');
});

test('progress survives a reload (it is kept with the session in IndexedDB)', async () => {
  await page.click('nav.sidebar a:has-text("Dashboard")');
  await settled();
  const ms = await simMs();
  await page.reload();
  await page.waitForSelector('#session-status[data-state="ready"]');
  assert.equal(await simMs(), ms);
  await openScenarios();
  assert.match(await page.textContent('li[data-scenario="firehose-buffering"]'), /2\/2 checks passed/);
  await page.click('li[data-scenario="firehose-buffering"] a');
  await waitCheck('size-flush', 'pass');
  await waitCheck('interval-flush', 'pass');
  assert.match(await page.textContent('li[data-check="size-flush"]'), /passed at \d+ s|at \d+ s/);
  await page.waitForSelector('#scenario-explanation');
  await shot('4-after-reload');
});

test('a run shared after a reload holds the inputs given before it (they are kept with the session)', async () => {
  // This run's link is larger than Chromium opens (400 records of 3,000 bytes, base64 twice), so the link's file is
  // read here; tests/persist_share.rs and tests/wasm_persist.rs replay such a file to the same event-log hash.
  await page.click('#scenario-share-link');
  const link = await page.inputValue('#scenario-link');
  const payload = link.split('/run/')[1];
  const file = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  const batches = file.inputs.filter((i) => i.type === 'Api' && /PutRecordBatch/.test(i.target));
  assert.ok(batches.some((i) => JSON.parse(i.body).DeliveryStreamName === 'by-size'), 'the sends before the reload');
  assert.ok(batches.some((i) => JSON.parse(i.body).DeliveryStreamName === 'by-interval'));
  assert.ok(file.inputs.some((i) => i.type === 'Advance'), 'the play before the reload');
  const { hash, ms } = await runState();
  assert.equal(file.event_log_hash.slice(0, 16), hash.trim(), 'the file is of the run as it stands');
  assert.equal(file.end_ms, ms);
  await shot('4b-shared-after-reload');
  await page.goto(`${baseUrl}#/scenarios/firehose-buffering`);
  await page.waitForSelector('#scenario-restart');
});

test('a scenario restarts from its seeded setup', async () => {
  await page.click('#scenario-restart');
  await waitCheck('size-flush', 'pending');
  assert.equal(await checkStatus('interval-flush'), 'pending');
  assert.equal(await page.locator('#scenario-explanation').count(), 0);
  assert.equal(await simMs(), 10_000, 'back at the end of the setup');
  await shot('5-restarted');
});

test('transform failures land in the error prefix, the other records are delivered', async () => {
  await openScenarios();
  await page.click('li[data-scenario="transform-errors"] a');
  await page.click('#scenario-start');
  await page.waitForSelector('#scenario-controls');
  assert.equal(await checkStatus('error-prefix'), 'pending');
  await send('firehose:clean', '{"row":{i}}', 6);
  await send('firehose:clean', '{"row":{i},"CORRUPT":true}', 3);
  // Past the 60 s buffer interval: Firehose hands the batch to the function 'clean', which the page's sandbox runs.
  await page.click('#scenario-play-minute');
  await page.click('#play');
  await waitCheck('error-prefix', 'pass');
  await waitCheck('delivered', 'pass');
  await page.click('#pause');
  await page.waitForSelector('#scenario-explanation');
  assert.match(await page.textContent('li[data-check="error-prefix"]'), /processing-failed\//);
  await shot('6-transform-done');
  await page.click('.scenario-links a:has-text("S3 buckets")');
  await page.waitForSelector('text=lake');
  await shot('7-s3');
});

/** The dashboard's event-log hash and the clock's simulated time. */
const runState = async () => {
  await page.click('nav.sidebar a:has-text("Dashboard")');
  await page.waitForSelector('#event-hash');
  return { hash: await page.textContent('#event-hash'), ms: await simMs() };
};
/**
 * Shares the current scenario run as a link, restarts the scenario (another state), opens the link and finds the
 * same event-log hash and time, with `checks` passed.
 */
const shareAndReplay = async (id, checks, name) => {
  await page.click('#scenario-share-link');
  const link = await page.inputValue('#scenario-link');
  assert.match(link, new RegExp(`#/scenarios/${id}/run/`));
  const before = await runState();
  await page.goto(`${baseUrl}#/scenarios/${id}`);
  await page.click('#scenario-restart');
  await waitCheck(checks[0], 'pending');
  assert.notEqual((await runState()).hash, before.hash, 'the restarted run differs');
  await page.goto(link);
  for (const c of checks) await waitCheck(c, 'pass');
  await shot(name);
  assert.deepEqual(await runState(), before, 'the shared link rebuilds the same run');
};

test('a transform run shares, after a reload, as a link that replays to the same state', async () => {
  await openScenarios();
  await page.click('li[data-scenario="transform-errors"] a');
  await waitCheck('error-prefix', 'pass');
  // Shared after a reload: the run's inputs come back with the session, so the link still rebuilds it.
  await page.reload();
  await page.waitForSelector('#session-status[data-state="ready"], li[data-check="error-prefix"][data-status="pass"]');
  await waitCheck('error-prefix', 'pass');
  await shareAndReplay('transform-errors', ['error-prefix', 'delivered'], '8-transform-replayed');
});

test('calls a page script makes through kinesim.pageSession() are part of the shared run', async () => {
  await openScenarios();
  await page.click('li[data-scenario="transform-errors"] a');
  await waitCheck('error-prefix', 'pass');
  const status = await page.evaluate(async () => {
    const session = window.kinesim.pageSession();
    const body = JSON.stringify({ StreamName: 'from-a-page-script', ShardCount: 1 });
    const answer = await session.sendCommitted('Kinesis_20131202.CreateStream', body);
    session.advanceBy(15_000);
    await session.committed();
    return answer.statusCode;
  });
  assert.equal(status, 200);
  await shareAndReplay('transform-errors', ['error-prefix', 'delivered'], '12-page-script-replayed');
  const described = await page.evaluate(() => {
    const body = JSON.stringify({ StreamName: 'from-a-page-script' });
    const answer = window.kinesim.pageSession().send('Kinesis_20131202.DescribeStreamSummary', body);
    return JSON.parse(answer.body).StreamDescriptionSummary?.StreamStatus;
  });
  assert.equal(described, 'ACTIVE', "the page script's stream is in the replayed run");
});

const endpointRow = 'tr.played-request';
/** Plays on a minute, then answers the request waiting at the played endpoint with `answer`; its attempt. */
const answerNext = async (answer) => {
  await page.click('#scenario-play-minute');
  await page.waitForSelector(endpointRow);
  const attempt = Number(await page.getAttribute(endpointRow, 'data-attempt'));
  await page.click(`${endpointRow} button[data-answer="${answer}"]`);
  await page.waitForSelector('#endpoint-idle');
  return attempt;
};

test('HTTP endpoint: the learner plays the endpoint in the page, and the run shares and replays', async () => {
  await openScenarios();
  assert.equal(await page.locator('li[data-scenario="http-endpoint-retries"] .soon').count(), 0, 'playable');
  await page.click('li[data-scenario="http-endpoint-retries"] a');
  await page.click('#scenario-start');
  await page.waitForSelector('#played-endpoint #endpoint-idle');
  assert.match(await page.textContent('.goal'), /reserved example host/);
  // 503, then a 200 quoting another requestId (not a delivery), then the right 200.
  await send('firehose:to-http', 'event-{i}', 3);
  await page.click('#scenario-play-minute');
  await page.waitForSelector(endpointRow);
  assert.equal(await page.textContent(`${endpointRow} .records`), '3');
  assert.match(await page.textContent(`${endpointRow} .preview`), /event-0 \| event-1 \| event-2/);
  await shot('9-endpoint-request', '#played-endpoint');
  await page.click(`${endpointRow} button[data-answer="503"]`);
  await page.waitForSelector('#endpoint-idle');
  assert.equal(await answerNext('200-wrong-id'), 2);
  assert.equal(await checkStatus('retried'), 'pending', 'a wrong requestId is not a delivery');
  assert.equal(await answerNext('200'), 3);
  await waitCheck('retried', 'pass');
  // No answer, then 200: the endpoint got the batch twice.
  await send('firehose:to-http', 'again-{i}', 3);
  assert.equal(await answerNext('timeout'), 1);
  assert.equal(await answerNext('200'), 2);
  await waitCheck('duplicate', 'pass');
  // 500 on every attempt until the 60 s of retries run out.
  await send('firehose:to-http-short', 'short-{i}', 3);
  for (let i = 0; i < 10 && (await checkStatus('gave-up')) !== 'pass'; i += 1) {
    await page.click('#scenario-play-minute');
    await page.waitForSelector(`${endpointRow}, li[data-check="gave-up"][data-status="pass"]`);
    if (await page.locator(endpointRow).count()) {
      await page.click(`${endpointRow} button[data-answer="500"]`);
      await page.waitForSelector('#endpoint-idle');
    }
  }
  await waitCheck('gave-up', 'pass');
  await page.waitForSelector('#scenario-explanation');
  assert.match(await page.textContent('li[data-check="gave-up"]'), /http-endpoint-failed\//);
  await shot('10-endpoint-done');
  await shareAndReplay('http-endpoint-retries', ['retried', 'duplicate', 'gave-up'], '11-endpoint-replayed');
});

test('no console errors, failed requests or page errors', () => {
  assert.deepEqual(problems, []);
});
