// The Firehose OpenSearch destination in Debian's Chromium against the release build: a delivery stream created
// through the page session's Firehose API indexes JSON records into the simulated domain; its page lists the
// rotated index with its document count, searches it by field and by word, and shows a hostile document as text,
// never as HTML. Screenshots land in tests/e2e/output/opensearch-*.png. Fails on any console error.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { appTour } from './support.mjs';

const tour = appTour('opensearch');
const { problems, shot } = tour;
let page;
let baseUrl;
before(async () => {
  await tour.ready;
  ({ page, baseUrl } = tour);
});

test('records delivered to the OpenSearch destination are listed and searchable', async () => {
  // The page session answers once the session has opened from IndexedDB (the dashboard shows its status).
  await page.goto(baseUrl);
  await page.waitForSelector('#session-status[data-state="ready"]');
  await page.goto(`${baseUrl}#/firehose`);
  await page.waitForFunction(() => window.kinesim?.pageSession !== undefined);
  const out = await page.evaluate(async () => {
    const session = kinesim.pageSession();
    const role = 'arn:aws:iam::123456789012:role/firehose-delivery-role';
    const send = (op, body) => session.sendCommitted(`Firehose_20150804.${op}`, JSON.stringify(body));
    const created = await send('CreateDeliveryStream', {
      DeliveryStreamName: 'os-logs',
      AmazonopensearchserviceDestinationConfiguration: {
        RoleARN: role,
        DomainARN: 'arn:aws:es:us-east-1:123456789012:domain/training',
        IndexName: 'app-logs',
        IndexRotationPeriod: 'OneDay',
        BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 60 },
        S3Configuration: { RoleARN: role, BucketARN: 'arn:aws:s3:::os-backup' },
      },
    });
    session.advanceBy(6_000);
    const docs = [
      { level: 'ERROR', msg: 'disk full' },
      { level: 'INFO', msg: 'started' },
      { level: 'ERROR', msg: '<img src=x onerror="window.pwned=1">' },
    ];
    const put = await send('PutRecordBatch', {
      DeliveryStreamName: 'os-logs',
      Records: [...docs.map((d) => ({ Data: btoa(JSON.stringify(d)) })), { Data: btoa('not json') }],
    });
    session.advanceBy(120_000);
    await session.committed();
    return { created: created.statusCode, put: JSON.parse(put.body).FailedPutCount };
  });
  assert.deepEqual(out, { created: 200, put: 0 });

  await page.goto(`${baseUrl}#/firehose/os-logs`);
  await page.waitForSelector('#fh-os-indices');
  assert.match(await page.textContent('.page-head .lead'), /OpenSearch arn:aws:es:us-east-1:123456789012:domain\/training/);
  const rows = await page.$$eval('#fh-os-indices tbody tr', (trs) => trs.map((tr) => tr.textContent));
  assert.deepEqual(rows, ['app-logs-2026-01-013']);
  assert.match(await page.textContent('#fh-os-total'), /^3 hits in app-logs-2026-01-01/);

  await page.fill('#fh-os-query', 'level:error');
  await page.waitForFunction(() => document.querySelector('#fh-os-total')?.textContent.startsWith('2 hits'));
  await page.fill('#fh-os-query', 'onerror');
  await page.waitForFunction(() => document.querySelector('#fh-os-total')?.textContent.startsWith('1 hit in'));
  const hit = await page.textContent('#fh-os-hits pre');
  assert.match(hit, /<img src=x onerror=/, 'the document is shown as its text');
  assert.equal(await page.locator('#fh-os-hits img').count(), 0, 'never as HTML');
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  await page.fill('#fh-os-query', 'started');
  await page.waitForFunction(() => document.querySelector('#fh-os-total')?.textContent.startsWith('1 hit in'));
  await shot('1-search', '#fh-os-h');

  // The flush, the Bulk request and the record that was not JSON, in the backup bucket's AmazonOpenSearchService-failed/.
  const flushes = await page.textContent('#fh-flushes');
  assert.match(flushes, /delivered to OpenSearch/);
  assert.match(flushes, /3 documents indexed, 1 refused/);
  assert.match(flushes, /AmazonOpenSearchService-failed: AmazonOpenSearchService-failed\/2026\/01\/01\/00\/os-logs-1-/);
  assert.deepEqual(problems, []);
});
