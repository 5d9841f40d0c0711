// The browser's HTTP endpoint shell (src/ui/http.rs) against a real HTTP server on 127.0.0.1 that this test starts
// and stops: the page `fetch`es Firehose's documented request (X-Amz-Firehose-* headers, a JSON body with
// requestId, timestamp and base64 records) across origins, so the server answers the CORS preflight; a 200 with
// the matching requestId is a delivery the page shows; a 500 is retried after a back-off on simulated time, and
// the retry shows on the page too. Then the transform editor: a JavaScript function written in the page is applied
// to a delivery stream, and its output is what the S3 object preview shows; an endless loop is timed out in its
// worker, reported, and the page stays responsive. Screenshots land in tests/e2e/output/firehose-http-*.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { appTour } from './support.mjs';

const tour = appTour('firehose-http');
const { problems, shot, speed, play, pause, runFor } = tour;
let page;
let baseUrl;

/** What the endpoint received, and how it answers the next POSTs (a status per request, then 200). */
const endpoint = { requests: [], preflights: [], answers: [], server: undefined, url: undefined };

function startEndpoint() {
  const cors = {
    'access-control-allow-origin': '*',
    'access-control-allow-methods': 'POST, OPTIONS',
    'access-control-allow-headers': 'content-type, content-encoding, x-amz-firehose-protocol-version, x-amz-firehose-request-id, x-amz-firehose-source-arn, x-amz-firehose-access-key, x-amz-firehose-common-attributes',
    'access-control-max-age': '0',
  };
  const server = createServer((req, res) => {
    if (req.method === 'OPTIONS') {
      endpoint.preflights.push(req.headers['access-control-request-headers'] ?? '');
      res.writeHead(204, cors).end();
      return;
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      endpoint.requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      const requestId = req.headers['x-amz-firehose-request-id'];
      const status = endpoint.answers.shift() ?? 200;
      const answer = status === 200
        ? { requestId, timestamp: Date.now() }
        : { requestId, timestamp: Date.now(), errorMessage: 'the test endpoint failed on purpose' };
      res.writeHead(status, { ...cors, 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

before(async () => {
  await tour.ready;
  ({ page, baseUrl } = tour);
  endpoint.server = await startEndpoint();
  endpoint.url = `http://127.0.0.1:${endpoint.server.address().port}/firehose/intake`;
});
after(async () => {
  await new Promise((ok) => endpoint.server?.close(ok) ?? ok());
});

/** A Firehose API call through the page's session (journaled like the UI's own calls), once the session is open. */
const firehose = async (operation, body) => {
  for (;;) {
    const r = await page.evaluate(
      ([op, b]) => {
        const a = kinesim.pageSession().send(`Firehose_20150804.${op}`, JSON.stringify(b));
        return { status: a.statusCode, body: a.body };
      },
      [operation, body],
    );
    if (!r.body.includes('still opening')) return r;
    await new Promise((ok) => setTimeout(ok, 100));
  }
};
/** Runs the clock a simulated second at a time until the endpoint has received `n` requests. */
const waitForRequests = async (n) => {
  for (let i = 0; i < 100 && endpoint.requests.length < n; i++) {
    await runFor(1_000);
  }
  assert.ok(endpoint.requests.length >= n, `the endpoint got ${endpoint.requests.length} of ${n} requests`);
};
/**
 * Runs the clock a simulated second at a time until `predicate` (run in the page) holds: answers from the endpoint
 * and the transform worker arrive on their own, and the page shows them with its next refresh.
 */
const runUntil = async (predicate, arg, what, tries = 100) => {
  for (let i = 0; i < tries; i++) {
    if (await page.evaluate(predicate, arg)) return;
    await runFor(1_000);
  }
  assert.fail(`never happened: ${what}`);
};
const flushesMatch = (source) => new RegExp(source).test(document.querySelector('#fh-flushes')?.textContent ?? '');
const putRecords = async (stream, texts) => {
  const r = await firehose('PutRecordBatch', {
    DeliveryStreamName: stream,
    Records: texts.map((t) => ({ Data: Buffer.from(t).toString('base64') })),
  });
  assert.equal(r.status, 200, r.body);
  assert.equal(JSON.parse(r.body).FailedPutCount, 0);
};

test('an HTTP endpoint delivery stream posts Firehose\'s documented request; a 200 is a delivery the page shows', async () => {
  await page.goto(`${baseUrl}#/firehose`);
  await page.waitForSelector('#create-delivery-stream');
  const created = await firehose('CreateDeliveryStream', {
    DeliveryStreamName: 'to-endpoint',
    DeliveryStreamType: 'DirectPut',
    HttpEndpointDestinationConfiguration: {
      EndpointConfiguration: { Url: endpoint.url, Name: 'test endpoint', AccessKey: 'secret-key' },
      RequestConfiguration: { ContentEncoding: 'NONE', CommonAttributes: [{ AttributeName: 'team', AttributeValue: 'data' }] },
      BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 60 },
      RetryOptions: { DurationInSeconds: 300 },
      RoleARN: 'arn:aws:iam::123456789012:role/firehose-delivery-role',
      S3BackupMode: 'FailedDataOnly',
      S3Configuration: {
        RoleARN: 'arn:aws:iam::123456789012:role/firehose-delivery-role',
        BucketARN: 'arn:aws:s3:::endpoint-backup',
      },
    },
  });
  assert.equal(created.status, 200, created.body);
  await page.goto(`${baseUrl}#/firehose/to-endpoint`);
  await page.waitForSelector('#fh-title');
  await speed(10);
  await play();
  await page.waitForFunction(() => document.querySelector('#fh-status')?.textContent === 'ACTIVE');
  await pause();
  await putRecords('to-endpoint', ['{"n":1}', '{"n":2}', '{"n":3}']);
  await runFor(61_000);
  await waitForRequests(1);
  const [req] = endpoint.requests;
  assert.equal(req.method, 'POST');
  assert.equal(req.url, '/firehose/intake');
  assert.equal(req.headers['content-type'], 'application/json');
  assert.equal(req.headers['x-amz-firehose-protocol-version'], '1.0');
  assert.match(req.headers['x-amz-firehose-request-id'], /^[0-9a-f-]{36}$/);
  assert.equal(req.headers['x-amz-firehose-source-arn'], 'arn:aws:firehose:us-east-1:000000000000:deliverystream/to-endpoint');
  assert.equal(req.headers['x-amz-firehose-access-key'], 'secret-key');
  assert.deepEqual(JSON.parse(req.headers['x-amz-firehose-common-attributes']), { commonAttributes: { team: 'data' } });
  assert.ok(endpoint.preflights.length >= 1, 'the browser asked the CORS preflight for the X-Amz-Firehose-* headers');
  assert.match(endpoint.preflights[0], /x-amz-firehose-request-id/);
  const body = JSON.parse(req.body);
  assert.equal(body.requestId, req.headers['x-amz-firehose-request-id']);
  assert.equal(typeof body.timestamp, 'number');
  assert.deepEqual(
    body.records.map((r) => Buffer.from(r.data, 'base64').toString('utf8')),
    ['{"n":1}', '{"n":2}', '{"n":3}'],
  );
  // The answer completes the request at the session's simulated time; the page shows it.
  await runUntil(flushesMatch, 'delivered to HTTP endpoint', 'the delivery on the page');
  const flushes = await page.textContent('#fh-flushes');
  assert.match(flushes, new RegExp(`request ${req.headers['x-amz-firehose-request-id']} after 1 attempts \\(3 records\\)`));
  await shot('1-delivered', '#fh-flush-h');
});

test('a 500 answer is retried after a back-off with the same request id, and the page shows the retry', async () => {
  const before = endpoint.requests.length;
  endpoint.answers.push(500);
  await putRecords('to-endpoint', ['{"n":4}']);
  await runFor(61_000);
  await waitForRequests(before + 1);
  const first = endpoint.requests[before];
  const id = first.headers['x-amz-firehose-request-id'];
  // The back-off is 1 s (+-15%) of simulated time: the retry shows, the next attempt goes out and succeeds.
  await runUntil(flushesMatch, `request ${id} after 2 attempts`, 'the retried delivery on the page');
  assert.equal(endpoint.requests.length, before + 2);
  const retry = endpoint.requests[before + 1];
  assert.equal(retry.headers['x-amz-firehose-request-id'], id, 'a retry keeps the request id');
  assert.deepEqual(JSON.parse(retry.body).records, JSON.parse(first.body).records);
  assert.match(await page.textContent('#fh-flushes'), new RegExp(`HTTP retryrequest ${id}: HttpEndpoint\\.DestinationException`));
  await shot('2-retried', '#fh-flush-h');
});

test('a JavaScript transform written in the editor is applied: the S3 object holds its output', async () => {
  await page.goto(`${baseUrl}#/firehose`);
  await page.waitForSelector('#create-delivery-stream');
  await page.fill('#fh-name', 'shouting');
  await page.fill('#fh-bucket', 'transformed');
  await page.fill('#fh-interval', '60');
  await page.click('#create-delivery-stream');
  await page.waitForSelector('#fh-title:has-text("shouting")');
  await speed(10);
  await play();
  await page.waitForFunction(() => document.querySelector('#fh-status')?.textContent === 'ACTIVE');
  await pause();
  await page.fill(
    '#fh-transform',
    `async (event) => ({
      records: event.records.map((r) => ({ recordId: r.recordId, result: 'Ok', data: btoa(atob(r.data).toUpperCase() + ' (transformed)') })),
    })`,
  );
  await page.click('#fh-transform-apply');
  await page.waitForSelector('[role="status"]:has-text("Applied")');
  await page.waitForSelector('#fh-transform-status:has-text("Attached as Lambda function shouting-transform")');
  await putRecords('shouting', ['hello firehose', 'second record']);
  await runFor(61_000);
  await runUntil(flushesMatch, 's3://transformed/', 'the transformed object');
  await page.goto(`${baseUrl}#/s3/transformed`);
  await page.waitForSelector('#s3-objects');
  for (let depth = 0; depth < 4; depth++) {
    await page.locator('#s3-objects tr.folder button').first().click();
  }
  await page.locator('#s3-objects tr.object button').first().click();
  assert.equal(
    (await page.textContent('#s3-preview')).trim(),
    'HELLO FIREHOSE (transformed)\nSECOND RECORD (transformed)',
    'the function\'s output, then the newline delimiter',
  );
  await shot('3-transformed');
});

test('an endless loop in the editor is timed out and reported; the page stays responsive', async () => {
  await page.goto(`${baseUrl}#/firehose/shouting`);
  await page.waitForSelector('#fh-transform');
  await page.fill('#fh-transform', 'async (event) => { while (true) {} }');
  await page.click('#fh-transform-apply');
  await page.waitForSelector('[role="status"]:has-text("Applied")');
  await putRecords('shouting', ['never transformed']);
  await runFor(61_000);
  // Each attempt runs up to its 3 s limit in the worker; meanwhile the page answers scripts and clicks.
  assert.equal(await page.evaluate(() => 1 + 1), 2);
  // Two attempts (NumberOfRetries 1) of 3 s each, then the record goes to the processing-failed error prefix.
  await runUntil(flushesMatch, 'processing-failed', 'the processing-failed error output');
  // The clock still runs and the UI still reacts.
  await page.click('nav.sidebar a:has-text("S3 buckets")');
  await page.waitForSelector('#s3-buckets');
  await shot('4-loop-contained');
});

test('no console errors or page errors (the endpoint\'s deliberate 500 aside)', () => {
  assert.deepEqual(problems.filter((p) => !(p.includes('500') && /127\.0\.0\.1:\d+\/firehose\/intake|status of 500/.test(p))), []);
});
