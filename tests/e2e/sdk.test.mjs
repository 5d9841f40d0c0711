// The real AWS SDK for JavaScript v3 (@aws-sdk/client-kinesis and client-firehose from npm, bundled for the
// browser by www/build-sdk.mjs) drives the in-page simulator through www/kinesim-handler.js, in Debian's Chromium.
// Assertions are on the SDK's parsed outputs and its error classes. Run: npm run e2e (after a release build).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openSite } from './support.mjs';

let site;

before(async () => {
  site = await openSite();
  await site.page.evaluate(() => window.kinesimPlayground.loadSdk());
});

after(async () => {
  await site?.close();
});

/** Runs `fn(sdk, session, makeClient)` in the page; a fresh Session per call unless one is named. */
const inPage = (fn, arg) =>
  site.page.evaluate(
    async ([source, arg]) => {
      const sdk = window.KinesimAwsSdk;
      const makeClient = (session, extra = {}) =>
        new sdk.kinesis.KinesisClient({
          region: 'us-east-1',
          credentials: { accessKeyId: 'any', secretAccessKey: 'any' },
          requestHandler: new window.KinesimRequestHandler(session),
          ...extra,
        });
      const errorOf = async (promise) => {
        try {
          await promise;
          return null;
        } catch (e) {
          return e;
        }
      };
      // eslint-disable-next-line no-new-func
      const body = new Function('return ' + source)();
      return body({ sdk, makeClient, errorOf, kinesim: window.kinesim }, arg);
    },
    [fn.toString(), arg],
  );

test('CreateStream, PutRecords, GetShardIterator, GetRecords through the unmodified SDK client', async () => {
  const out = await inPage(async ({ sdk, makeClient, kinesim }) => {
    const K = sdk.kinesis;
    const session = new kinesim.Session(7);
    const client = makeClient(session, { maxAttempts: 1 });
    const created = await client.send(new K.CreateStreamCommand({ StreamName: 'orders', ShardCount: 1 }));
    const creating = await client.send(new K.DescribeStreamSummaryCommand({ StreamName: 'orders' }));
    session.advanceBy(10_000);
    const active = await client.send(new K.DescribeStreamSummaryCommand({ StreamName: 'orders' }));
    const enc = new TextEncoder();
    const put = await client.send(
      new K.PutRecordsCommand({
        StreamName: 'orders',
        Records: ['a', 'b', 'c'].map((x) => ({ PartitionKey: `pk-${x}`, Data: enc.encode(`order ${x}`) })),
      }),
    );
    const it = await client.send(
      new K.GetShardIteratorCommand({
        StreamName: 'orders',
        ShardId: 'shardId-000000000000',
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    const got = await client.send(new K.GetRecordsCommand({ ShardIterator: it.ShardIterator }));
    const dec = new TextDecoder();
    return {
      createdStatus: created.$metadata.httpStatusCode,
      creating: creating.StreamDescriptionSummary.StreamStatus,
      active: active.StreamDescriptionSummary.StreamStatus,
      openShards: active.StreamDescriptionSummary.OpenShardCount,
      failed: put.FailedRecordCount,
      putShards: put.Records.map((r) => r.ShardId),
      seqType: typeof put.Records[0].SequenceNumber,
      iteratorType: typeof it.ShardIterator,
      data: got.Records.map((r) => dec.decode(r.Data)),
      dataIsBytes: got.Records[0].Data instanceof Uint8Array,
      keys: got.Records.map((r) => r.PartitionKey),
      arrivalIsDate: got.Records[0].ApproximateArrivalTimestamp instanceof Date,
      millisBehind: got.MillisBehindLatest,
      nextIterator: typeof got.NextShardIterator,
      hash: session.eventLogHash(),
    };
  });
  assert.equal(out.createdStatus, 200);
  assert.equal(out.creating, 'CREATING');
  assert.equal(out.active, 'ACTIVE');
  assert.equal(out.openShards, 1);
  assert.equal(out.failed, 0);
  assert.deepEqual(out.putShards, Array(3).fill('shardId-000000000000'));
  assert.equal(out.seqType, 'string');
  assert.equal(out.iteratorType, 'string');
  assert.deepEqual(out.data, ['order a', 'order b', 'order c']);
  assert.equal(out.dataIsBytes, true);
  assert.deepEqual(out.keys, ['pk-a', 'pk-b', 'pk-c']);
  assert.equal(out.arrivalIsDate, true);
  assert.equal(out.millisBehind, 0);
  assert.equal(out.nextIterator, 'string');
  assert.match(out.hash, /^[0-9a-f]{64}$/);
});

test('SplitShard and ListShards', async () => {
  const out = await inPage(async ({ sdk, makeClient, kinesim }) => {
    const K = sdk.kinesis;
    const session = new kinesim.Session(7);
    const client = makeClient(session, { maxAttempts: 1 });
    await client.send(new K.CreateStreamCommand({ StreamName: 's', ShardCount: 1 }));
    session.advanceBy(10_000);
    await client.send(
      new K.SplitShardCommand({
        StreamName: 's',
        ShardToSplit: 'shardId-000000000000',
        NewStartingHashKey: '170141183460469231731687303715884105728',
      }),
    );
    const updating = await client.send(new K.DescribeStreamSummaryCommand({ StreamName: 's' }));
    session.advanceBy(60_000);
    const listed = await client.send(new K.ListShardsCommand({ StreamName: 's' }));
    return {
      updating: updating.StreamDescriptionSummary.StreamStatus,
      shards: listed.Shards.map((s) => ({
        id: s.ShardId,
        parent: s.ParentShardId ?? null,
        start: s.HashKeyRange.StartingHashKey,
        closed: s.SequenceNumberRange.EndingSequenceNumber !== undefined,
      })),
    };
  });
  assert.equal(out.updating, 'UPDATING');
  assert.deepEqual(out.shards, [
    { id: 'shardId-000000000000', parent: null, start: '0', closed: true },
    { id: 'shardId-000000000001', parent: 'shardId-000000000000', start: '0', closed: false },
    {
      id: 'shardId-000000000002',
      parent: 'shardId-000000000000',
      start: '170141183460469231731687303715884105728',
      closed: false,
    },
  ]);
});

test('AWS errors arrive as the SDK error classes', async () => {
  const out = await inPage(async ({ sdk, makeClient, errorOf, kinesim }) => {
    const K = sdk.kinesis;
    const session = new kinesim.Session(7);
    const client = makeClient(session, { maxAttempts: 1 });
    const missing = await errorOf(client.send(new K.DescribeStreamSummaryCommand({ StreamName: 'nope' })));
    await client.send(new K.CreateStreamCommand({ StreamName: 's', ShardCount: 1 }));
    session.advanceBy(10_000);
    const invalid = await errorOf(
      client.send(
        new K.GetShardIteratorCommand({
          StreamName: 's',
          ShardId: 'shardId-000000000000',
          ShardIteratorType: 'AT_SEQUENCE_NUMBER',
        }),
      ),
    );
    const inUse = await errorOf(client.send(new K.CreateStreamCommand({ StreamName: 's', ShardCount: 1 })));
    return {
      missing: {
        isClass: missing instanceof K.ResourceNotFoundException,
        isService: missing instanceof K.KinesisServiceException,
        name: missing.name,
        status: missing.$metadata.httpStatusCode,
        fault: missing.$fault,
        message: missing.message,
      },
      invalid: { isClass: invalid instanceof K.InvalidArgumentException, name: invalid.name, message: invalid.message },
      inUse: { isClass: inUse instanceof K.ResourceInUseException, name: inUse.name },
    };
  });
  assert.deepEqual(
    { ...out.missing, message: undefined },
    { isClass: true, isService: true, name: 'ResourceNotFoundException', status: 400, fault: 'client', message: undefined },
  );
  assert.match(out.missing.message, /nope/);
  assert.equal(out.invalid.isClass, true);
  assert.equal(out.invalid.name, 'InvalidArgumentException');
  assert.match(out.invalid.message, /AT_SEQUENCE_NUMBER/);
  assert.deepEqual(out.inUse, { isClass: true, name: 'ResourceInUseException' });
});

test('throttling: visible with retries off (maxAttempts: 1), retried three times by default', async () => {
  const out = await inPage(async ({ sdk, makeClient, errorOf, kinesim }) => {
    const K = sdk.kinesis;
    const session = new kinesim.Session(7);
    const noRetries = makeClient(session, { maxAttempts: 1 });
    await noRetries.send(new K.CreateStreamCommand({ StreamName: 's', ShardCount: 1 }));
    session.advanceBy(10_000);
    const it = await noRetries.send(
      new K.GetShardIteratorCommand({ StreamName: 's', ShardId: 'shardId-000000000000', ShardIteratorType: 'LATEST' }),
    );
    // A shard serves 5 GetRecords calls a second; simulated time stands still between these calls.
    for (let i = 0; i < 5; i += 1) await noRetries.send(new K.GetRecordsCommand({ ShardIterator: it.ShardIterator }));
    const throttled = await errorOf(noRetries.send(new K.GetRecordsCommand({ ShardIterator: it.ShardIterator })));
    const withRetries = makeClient(session); // the SDK's default: 3 attempts with back-off (real time)
    const retried = await errorOf(withRetries.send(new K.GetRecordsCommand({ ShardIterator: it.ShardIterator })));
    session.advanceBy(1_000);
    const later = await noRetries.send(new K.GetRecordsCommand({ ShardIterator: it.ShardIterator }));
    return {
      isClass: throttled instanceof K.ProvisionedThroughputExceededException,
      name: throttled.name,
      attempts: throttled.$metadata.attempts,
      retriedName: retried?.name,
      retriedAttempts: retried?.$metadata.attempts,
      laterRecords: later.Records.length,
    };
  });
  assert.equal(out.isClass, true);
  assert.equal(out.name, 'ProvisionedThroughputExceededException');
  assert.equal(out.attempts, 1);
  assert.equal(out.retriedName, 'ProvisionedThroughputExceededException');
  assert.equal(out.retriedAttempts, 3);
  assert.equal(out.laterRecords, 0);
});

test('SubscribeToShard: the SDK reads the event stream as simulated time passes, to its end', async () => {
  const out = await inPage(async ({ sdk, makeClient, kinesim }) => {
    const K = sdk.kinesis;
    const session = new kinesim.Session(7);
    const client = makeClient(session, { maxAttempts: 1 });
    await client.send(new K.CreateStreamCommand({ StreamName: 'efo', ShardCount: 1 }));
    session.advanceBy(10_000);
    const { StreamDescriptionSummary: d } = await client.send(new K.DescribeStreamSummaryCommand({ StreamName: 'efo' }));
    const { Consumer } = await client.send(
      new K.RegisterStreamConsumerCommand({ StreamARN: d.StreamARN, ConsumerName: 'app' }),
    );
    session.advanceBy(60_000);
    const enc = new TextEncoder();
    await client.send(
      new K.PutRecordsCommand({
        StreamName: 'efo',
        Records: ['a', 'b', 'c'].map((x) => ({ PartitionKey: x, Data: enc.encode(`push ${x}`) })),
      }),
    );
    const sub = await client.send(
      new K.SubscribeToShardCommand({
        ConsumerARN: Consumer.ConsumerARN,
        ShardId: 'shardId-000000000000',
        StartingPosition: { Type: 'TRIM_HORIZON' },
      }),
    );
    // Simulated time runs on while the SDK reads: 10 simulated seconds every 10 real milliseconds.
    const clock = setInterval(() => session.advanceBy(10_000), 10);
    const got = [];
    let events = 0;
    let lastContinuation = null;
    try {
      for await (const item of sub.EventStream) {
        if (!item.SubscribeToShardEvent) continue;
        events += 1;
        lastContinuation = item.SubscribeToShardEvent.ContinuationSequenceNumber;
        for (const r of item.SubscribeToShardEvent.Records) got.push(new TextDecoder().decode(r.Data));
      }
    } finally {
      clearInterval(clock);
    }
    return {
      status: sub.$metadata.httpStatusCode,
      got,
      events,
      continuation: typeof lastContinuation,
      minutes: session.now() - 70_000 >= 5 * 60_000,
    };
  });
  assert.equal(out.status, 200);
  assert.deepEqual(out.got, ['push a', 'push b', 'push c']);
  assert.ok(out.events > 1, `heartbeat events follow (${out.events})`);
  assert.equal(out.continuation, 'string');
  assert.equal(out.minutes, true, 'the stream ended after 5 simulated minutes');
});

test('SubscribeToShard: a takeover ends the first stream with the SDK\'s ResourceInUseException', async () => {
  const out = await inPage(async ({ sdk, makeClient, errorOf, kinesim }) => {
    const K = sdk.kinesis;
    const session = new kinesim.Session(8);
    const client = makeClient(session, { maxAttempts: 1 });
    await client.send(new K.CreateStreamCommand({ StreamName: 'efo', ShardCount: 1 }));
    session.advanceBy(10_000);
    const { StreamDescriptionSummary: d } = await client.send(new K.DescribeStreamSummaryCommand({ StreamName: 'efo' }));
    const { Consumer } = await client.send(
      new K.RegisterStreamConsumerCommand({ StreamARN: d.StreamARN, ConsumerName: 'app' }),
    );
    session.advanceBy(60_000);
    const subscribe = () =>
      client.send(
        new K.SubscribeToShardCommand({
          ConsumerARN: Consumer.ConsumerARN,
          ShardId: 'shardId-000000000000',
          StartingPosition: { Type: 'LATEST' },
        }),
      );
    const first = await subscribe();
    session.advanceBy(1_000);
    const tooSoon = await errorOf(subscribe());
    session.advanceBy(5_000);
    await subscribe();
    const ended = await errorOf(
      (async () => {
        for await (const _ of first.EventStream) {
          // drain until the takeover ends it
        }
      })(),
    );
    return {
      tooSoon: tooSoon?.name,
      tooSoonClass: tooSoon instanceof K.ResourceInUseException,
      ended: ended?.name,
      endedClass: ended instanceof K.ResourceInUseException,
    };
  });
  assert.deepEqual(out, {
    tooSoon: 'ResourceInUseException',
    tooSoonClass: true,
    ended: 'ResourceInUseException',
    endedClass: true,
  });
});

test('PutRecords partial failure: throttled entries carry ErrorCode and ErrorMessage in the parsed output', async () => {
  const out = await inPage(async ({ sdk, makeClient, kinesim }) => {
    const K = sdk.kinesis;
    const session = new kinesim.Session(7);
    const client = makeClient(session, { maxAttempts: 1 });
    await client.send(new K.CreateStreamCommand({ StreamName: 'hot', ShardCount: 1 }));
    session.advanceBy(10_000);
    // 500 records of 3,000 bytes: 1.5 MB at one simulated instant, beyond the shard's 1 MiB a second.
    const put = await client.send(
      new K.PutRecordsCommand({
        StreamName: 'hot',
        Records: Array.from({ length: 500 }, (_, i) => ({ PartitionKey: `k${i}`, Data: new Uint8Array(3_000) })),
      }),
    );
    const failed = put.Records.filter((r) => r.ErrorCode !== undefined);
    const ok = put.Records.filter((r) => r.ErrorCode === undefined);
    return {
      status: put.$metadata.httpStatusCode,
      failedCount: put.FailedRecordCount,
      entries: put.Records.length,
      failedEntries: failed.length,
      okHaveSequence: ok.every((r) => typeof r.SequenceNumber === 'string' && r.ShardId === 'shardId-000000000000'),
      failedHaveNoSequence: failed.every((r) => r.SequenceNumber === undefined),
      codes: [...new Set(failed.map((r) => r.ErrorCode))],
      message: failed[0]?.ErrorMessage,
      // Entries are answered in request order: the accepted ones come first here, then the throttled ones.
      firstFailure: put.Records.findIndex((r) => r.ErrorCode !== undefined),
    };
  });
  assert.equal(out.status, 200);
  assert.equal(out.entries, 500);
  assert.ok(out.failedCount > 0 && out.failedCount < 500, `some fail, some pass (${out.failedCount})`);
  assert.equal(out.failedEntries, out.failedCount);
  assert.equal(out.firstFailure, 500 - out.failedCount);
  assert.equal(out.okHaveSequence, true);
  assert.equal(out.failedHaveNoSequence, true);
  assert.deepEqual(out.codes, ['ProvisionedThroughputExceededException']);
  assert.match(out.message, /^Rate exceeded for shard shardId-000000000000 in stream hot under account \d{12}\.$/);
});

test('Firehose through the unmodified SDK client: Direct PUT to S3, put, batch, flush, errors', async () => {
  const out = await inPage(async ({ sdk, errorOf, kinesim }) => {
    const F = sdk.firehose;
    const session = new kinesim.Session(7);
    const client = new F.FirehoseClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'any', secretAccessKey: 'any' },
      requestHandler: new window.KinesimRequestHandler(session),
      maxAttempts: 1,
    });
    const enc = new TextEncoder();
    const created = await client.send(
      new F.CreateDeliveryStreamCommand({
        DeliveryStreamName: 'clicks',
        DeliveryStreamType: 'DirectPut',
        ExtendedS3DestinationConfiguration: {
          RoleARN: 'arn:aws:iam::000000000000:role/firehose',
          BucketARN: 'arn:aws:s3:::landing',
          Prefix: 'clicks/',
          BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 60 },
          CompressionFormat: 'UNCOMPRESSED',
        },
      }),
    );
    const creating = await client.send(new F.DescribeDeliveryStreamCommand({ DeliveryStreamName: 'clicks' }));
    session.advanceBy(10_000);
    const described = await client.send(new F.DescribeDeliveryStreamCommand({ DeliveryStreamName: 'clicks' }));
    const d = described.DeliveryStreamDescription;
    const destination = d.Destinations[0];
    const listed = await client.send(new F.ListDeliveryStreamsCommand({}));
    const one = await client.send(
      new F.PutRecordCommand({ DeliveryStreamName: 'clicks', Record: { Data: enc.encode('click 0\n') } }),
    );
    const batch = await client.send(
      new F.PutRecordBatchCommand({
        DeliveryStreamName: 'clicks',
        Records: [1, 2, 3, 4].map((i) => ({ Data: enc.encode(`click ${i}\n`) })),
      }),
    );
    // The flush is an event of the run (the delivered object itself is not readable from the page: the page has
    // no S3 route, and Session.snapshot() cannot serialise a world with a delivery stream yet).
    const eventsAtPut = session.eventCount();
    session.advanceBy(30_000); // half the 60 s buffering interval: still buffering
    const eventsBeforeFlush = session.eventCount();
    session.advanceBy(31_000); // past the interval: the buffer flushes to S3
    const quietEvents = eventsBeforeFlush - eventsAtPut;
    const flushEvents = session.eventCount() - eventsBeforeFlush;
    const missing = await errorOf(client.send(new F.DescribeDeliveryStreamCommand({ DeliveryStreamName: 'nope' })));
    const putMissing = await errorOf(
      client.send(new F.PutRecordCommand({ DeliveryStreamName: 'nope', Record: { Data: enc.encode('x') } })),
    );
    const big = new Uint8Array(1_000_000);
    const tooBig = await errorOf(
      client.send(
        new F.PutRecordBatchCommand({ DeliveryStreamName: 'clicks', Records: Array.from({ length: 5 }, () => ({ Data: big })) }),
      ),
    );
    const inUse = await errorOf(
      client.send(
        new F.CreateDeliveryStreamCommand({
          DeliveryStreamName: 'clicks',
          ExtendedS3DestinationConfiguration: {
            RoleARN: 'arn:aws:iam::000000000000:role/firehose',
            BucketARN: 'arn:aws:s3:::landing',
          },
        }),
      ),
    );
    const errorView = (e) => ({
      name: e?.name,
      isService: e instanceof F.FirehoseServiceException,
      status: e?.$metadata?.httpStatusCode,
      message: e?.message,
    });
    return {
      arn: created.DeliveryStreamARN,
      creating: creating.DeliveryStreamDescription.DeliveryStreamStatus,
      status: d.DeliveryStreamStatus,
      name: d.DeliveryStreamName,
      type: d.DeliveryStreamType,
      version: d.VersionId,
      createdIsDate: d.CreateTimestamp instanceof Date,
      destinationId: destination.DestinationId,
      bucketArn: destination.ExtendedS3DestinationDescription?.BucketARN,
      prefix: destination.ExtendedS3DestinationDescription?.Prefix,
      hints: destination.ExtendedS3DestinationDescription?.BufferingHints,
      compression: destination.ExtendedS3DestinationDescription?.CompressionFormat,
      s3Bucket: destination.S3DestinationDescription?.BucketARN,
      names: listed.DeliveryStreamNames,
      more: listed.HasMoreDeliveryStreams,
      recordId: one.RecordId,
      encrypted: one.Encrypted,
      failedPutCount: batch.FailedPutCount,
      responses: batch.RequestResponses.map((r) => ({
        hasId: typeof r.RecordId === 'string' && r.RecordId.length > 0,
        errorCode: r.ErrorCode ?? null,
      })),
      distinctIds: new Set([one.RecordId, ...batch.RequestResponses.map((r) => r.RecordId)]).size,
      flushEvents,
      quietEvents,
      missing: { ...errorView(missing), isClass: missing instanceof F.ResourceNotFoundException },
      putMissing: { name: putMissing?.name, isClass: putMissing instanceof F.ResourceNotFoundException },
      tooBig: { ...errorView(tooBig), isClass: tooBig instanceof F.InvalidArgumentException },
      inUse: { name: inUse?.name, isClass: inUse instanceof F.ResourceInUseException },
    };
  });
  assert.equal(out.arn, 'arn:aws:firehose:us-east-1:000000000000:deliverystream/clicks');
  assert.equal(out.creating, 'CREATING');
  assert.equal(out.status, 'ACTIVE');
  assert.equal(out.name, 'clicks');
  assert.equal(out.type, 'DirectPut');
  assert.equal(out.version, '1');
  assert.equal(out.createdIsDate, true);
  assert.equal(out.destinationId, 'destinationId-000000000001');
  assert.equal(out.bucketArn, 'arn:aws:s3:::landing');
  assert.equal(out.prefix, 'clicks/');
  assert.deepEqual(out.hints, { SizeInMBs: 5, IntervalInSeconds: 60 });
  assert.equal(out.compression, 'UNCOMPRESSED');
  assert.equal(out.s3Bucket, 'arn:aws:s3:::landing');
  assert.deepEqual(out.names, ['clicks']);
  assert.equal(out.more, false);
  assert.equal(typeof out.recordId, 'string');
  assert.ok(out.recordId.length > 0);
  assert.equal(out.encrypted, false);
  // kinesim's Firehose never fails single entries of a batch (it simulates no Direct PUT throughput limit):
  // the all-succeed case.
  assert.equal(out.failedPutCount, 0);
  assert.deepEqual(out.responses, Array(4).fill({ hasId: true, errorCode: null }));
  assert.equal(out.distinctIds, 5);
  assert.equal(out.quietEvents, 0, 'nothing happens while the buffer waits for its interval');
  assert.ok(out.flushEvents > 0, `the interval's end flushes the buffer (${out.flushEvents} events)`);
  assert.deepEqual(
    { ...out.missing, message: undefined },
    { name: 'ResourceNotFoundException', isService: true, status: 400, message: undefined, isClass: true },
  );
  assert.match(out.missing.message, /nope/);
  assert.deepEqual(out.putMissing, { name: 'ResourceNotFoundException', isClass: true });
  assert.deepEqual(out.tooBig, {
    name: 'InvalidArgumentException',
    isService: true,
    status: 400,
    message: 'Records size exceeds 4 MB limit',
    isClass: true,
  });
  assert.deepEqual(out.inUse, { name: 'ResourceInUseException', isClass: true });
});

test('the page session is shared, and the playground runs a snippet and shows text', async () => {
  const { page } = site;
  await page.click('nav.sidebar a:has-text("SDK playground")');
  await page.waitForSelector('#playground-code');
  await page.fill(
    '#playground-code',
    `await kinesis.send(new CreateStreamCommand({ StreamName: "pg", ShardCount: 1 }));
     session.advanceBy(10_000);
     print("<b>not html</b>");
     const d = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: "pg" }));
     return d.StreamDescriptionSummary.StreamStatus;`,
  );
  await page.click('#playground-run');
  await page.waitForFunction(() => document.querySelector('#playground-output')?.textContent.includes('ACTIVE'));
  const text = await page.textContent('#playground-output');
  assert.equal(text, '<b>not html</b>\nACTIVE');
  assert.equal(await page.locator('#playground-output b').count(), 0, 'output is text, never HTML');
  const status = await page.evaluate(
    () => JSON.parse(kinesim.pageSession().send('Kinesis_20131202.DescribeStreamSummary', '{"StreamName":"pg"}').body)
      .StreamDescriptionSummary.StreamStatus,
  );
  assert.equal(status, 'ACTIVE', 'the snippet ran against the page session');

  await page.fill('#playground-code', 'await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: "missing" }));');
  await page.click('#playground-run');
  await page.waitForFunction(() => document.querySelector('#playground-output')?.textContent.includes('ResourceNotFound'));
  assert.match(await page.textContent('#playground-output'), /^ResourceNotFoundException \(HTTP 400\): .*missing/);
});

test('the playground runs Lambda functions isolated through runInvocations', async () => {
  const { page } = site;
  await page.fill(
    '#playground-code',
    `await kinesis.send(new CreateStreamCommand({ StreamName: "fn", ShardCount: 1 }));
     session.advanceBy(10_000);
     await kinesis.send(new PutRecordCommand({ StreamName: "fn", PartitionKey: "a", Data: new TextEncoder().encode("x") }));
     session.createEventSourceMapping(JSON.stringify({ FunctionName: "echo", StartingPosition: "TRIM_HORIZON",
       EventSourceArn: "arn:aws:kinesis:us-east-1:123456789012:stream/fn" }));
     session.advanceBy(1_000);
     const ran = await runInvocations({ echo: "async (event) => typeof document" });
     const m = JSON.parse(session.listEventSourceMappings()).EventSourceMappings[0];
     return [ran, m.Stats.records_succeeded, m.LastProcessingResult];`,
  );
  await page.click('#playground-run');
  await page.waitForFunction(() => document.querySelector('#playground-output')?.textContent.includes('OK'));
  assert.deepEqual(JSON.parse(await page.textContent('#playground-output')), [1, 1, 'OK']);
});

test('no console errors, failed requests or page errors', () => {
  assert.deepEqual(site.problems, []);
});
