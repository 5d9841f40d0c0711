// A new user's Firehose tour, in Debian's Chromium against the release build served under a sub-path: create a
// delivery stream to S3 with a 60 s interval, put test records, watch the buffer fill against the interval, see
// the flush after the interval, find the object in the S3 browser and preview it; then the comparison page sets
// up a live demonstration; a CloudWatch Logs source started from the Sources card delivers log lines. Screenshots land in tests/e2e/output/firehose-*.png. Fails on any console error.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { appTour } from './support.mjs';

const tour = appTour('firehose');
const { problems, shot, simMs, speed, play, pause, runFor } = tour;
let page;
let baseUrl;
before(async () => {
  await tour.ready;
  ({ page, baseUrl } = tour);
});
const fraction = async (id) => Number(await page.getAttribute(id, 'data-fraction'));

test('a bad buffer interval is answered with AWS\'s message', async () => {
  await page.goto(`${baseUrl}#/firehose`);
  await page.waitForSelector('#create-delivery-stream');
  await page.fill('#fh-interval', '5000');
  await page.click('#create-delivery-stream');
  assert.match(await page.textContent('[role="alert"]'), /InvalidArgumentException|ValidationException/);
});

test('create a Direct PUT delivery stream to S3 with a 60 s interval', async () => {
  await page.fill('#fh-name', 'clicks-to-s3');
  await page.fill('#fh-bucket', 'training-bucket');
  await page.fill('#fh-interval', '60');
  await page.fill('#fh-size', '5');
  await page.click('#create-delivery-stream');
  await page.waitForSelector('#fh-title');
  assert.match(page.url(), /#\/firehose\/clicks-to-s3$/);
  assert.equal(await page.textContent('#fh-status'), 'CREATING');
  assert.equal(await page.textContent('#fh-interval-hint'), '60 s');
  await speed(10);
  await play();
  await page.waitForFunction(() => document.querySelector('#fh-status')?.textContent === 'ACTIVE');
  await pause();
  assert.ok(await page.locator('nav.sidebar a:has-text("clicks-to-s3")').count() === 1, 'listed in the side bar');
});

test('test records fill the buffer; the interval bar runs toward the hint', async () => {
  await page.fill('#fh-test-n', '25');
  await page.click('#put-test-records');
  await page.waitForSelector('[role="status"]:has-text("Put 25 records")');
  assert.equal(await page.textContent('#fh-buffered'), '25');
  assert.ok((await fraction('#fill-size')) < 0.01, 'a few hundred bytes of 5 MiB');
  await runFor(30_000);
  const half = await fraction('#fill-interval');
  assert.ok(half >= 0.45 && half < 1, `interval fill ${half}`);
  await shot('1-buffer', '.page-head');
});

test('after the interval the buffer flushes and an object is delivered', async () => {
  await runFor(35_000);
  assert.equal(await page.textContent('#fh-buffered'), '0');
  const flushes = await page.textContent('#fh-flushes');
  assert.match(flushes, /interval hint reached: 25 records/);
  assert.match(flushes, /s3:\/\/training-bucket\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/clicks-to-s3-/);
  await shot('2-flushed', '#fh-flush-h');
});

test('the S3 browser shows the object under its time folders, previews and downloads it', async () => {
  await page.click('nav.sidebar a:has-text("S3 buckets")');
  await page.waitForSelector('#s3-buckets');
  await page.click('#s3-buckets a:has-text("training-bucket")');
  await page.waitForSelector('#s3-objects');
  // Year, month, day, hour folders.
  for (let depth = 0; depth < 4; depth++) {
    await page.locator('#s3-objects tr.folder button').first().click();
  }
  await page.waitForSelector('#s3-objects tr.object');
  await page.locator('#s3-objects tr.object button').first().click();
  const preview = await page.textContent('#s3-preview');
  const first = JSON.parse(preview.split('\n')[0]);
  assert.equal(first.test, 0);
  assert.equal(first.customer, 'c0');
  assert.equal(preview.trim().split('\n').length, 25, 'one line per record: the newline delimiter');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#s3-download')]);
  assert.match(download.suggestedFilename(), /^clicks-to-s3-\d+-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-/);
  await shot('3-s3-preview');
});

test('the comparison sets up a live demonstration and opens its page', async () => {
  await page.click('nav.sidebar a:has-text("Streams vs Firehose")');
  await page.waitForSelector('#compare');
  await shot('4-compare');
  await page.click('#demo-firehose-1');
  await page.waitForSelector('#demo-waiting');
  await speed(10);
  await play();
  await page.waitForSelector('#fh-title:has-text("demo-firehose")');
  await pause();
  assert.match(await page.textContent('.page-head .lead'), /Kinesis: demo-stream/);
  await runFor(20_000);
  const buffered = Number((await page.textContent('#fh-buffered')).replace(/[^0-9]/g, ''));
  assert.ok(buffered > 0, `the producer feeds the delivery stream: ${buffered} buffered`);
  await shot('5-demo', '.page-head');
  await page.click('nav.sidebar a:has-text("Streams vs Firehose")');
  await page.click('#demo-streams-0');
  await page.waitForSelector('#stream-title');
  assert.match(page.url(), /#\/streams\/demo-stream$/);
});

test('a CloudWatch Logs source started from the Sources card delivers unwrapped log lines to S3', async () => {
  // A Direct PUT stream whose processors unwrap subscription messages, made through the page session's API.
  const created = await page.evaluate(() => kinesim.pageSession().send('Firehose_20150804.CreateDeliveryStream', JSON.stringify({
    DeliveryStreamName: 'logs-to-s3',
    DeliveryStreamType: 'DirectPut',
    ExtendedS3DestinationConfiguration: {
      RoleARN: 'arn:aws:iam::123456789012:role/firehose-delivery-role',
      BucketARN: 'arn:aws:s3:::log-bucket',
      BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 60 },
      ProcessingConfiguration: { Enabled: true, Processors: [
        { Type: 'Decompression', Parameters: [{ ParameterName: 'CompressionFormat', ParameterValue: 'GZIP' }] },
        { Type: 'CloudWatchLogProcessing', Parameters: [{ ParameterName: 'DataMessageExtraction', ParameterValue: 'true' }] },
      ] },
    },
  })).statusCode);
  assert.equal(created, 200);
  await page.goto(`${baseUrl}#/firehose/logs-to-s3`);
  await page.waitForSelector('#fh-sources-h');
  await speed(10);
  await play();
  await page.waitForFunction(() => document.querySelector('#fh-status')?.textContent === 'ACTIVE');
  await pause();
  await page.selectOption('#src-kind', 'cwl');
  await page.fill('#src-name', 'app-logs');
  await page.fill('#src-rate', '5');
  await page.click('#start-source');
  await page.waitForSelector('[role="status"]:has-text("Source app-logs started.")');
  await runFor(65_000);
  const sent = Number((await page.textContent('[data-source="app-logs"] .source-sent')).replace(/[^0-9]/g, ''));
  assert.ok(sent >= 60, `control message + a subscription message a second: ${sent}`);
  assert.match(await page.textContent('#fh-flushes'), /s3:\/\/log-bucket\//);
  await shot('6-sources', '#fh-sources-h');
  await page.click('[data-source="app-logs"] button:has-text("Stop")');
  await page.waitForSelector('[data-source="app-logs"] .badge:has-text("STOPPED")');
  await page.goto(`${baseUrl}#/s3/log-bucket`);
  await page.waitForSelector('#s3-objects');
  for (let depth = 0; depth < 4; depth++) {
    await page.locator('#s3-objects tr.folder button').first().click();
  }
  await page.waitForSelector('#s3-objects tr.object');
  await page.locator('#s3-objects tr.object button').first().click();
  const lines = (await page.textContent('#s3-preview')).trim().split('\n');
  assert.ok(lines.length >= 250, `5 log lines a second for a minute: ${lines.length}`);
  // The preview may cut the last line short.
  for (const line of lines.slice(0, -1)) {
    assert.match(line, /^\d{4}-\d{2}-\d{2}T[\d:.]+Z 10\.0\.0\.\d+ "(GET|POST|PUT) \S+ HTTP\/1\.1" \d{3} \d+ms$/);
  }
  assert.ok(!lines.some((l) => l.includes('CONTROL MESSAGE')), 'CloudWatchLogProcessing drops the control message');
  await shot('7-log-lines');
});

test('no console errors, failed requests or page errors', () => {
  assert.deepEqual(problems, []);
});
