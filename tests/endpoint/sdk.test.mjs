// The AWS SDK for JavaScript v3, unmodified, against `kinesim serve` (HTTP/1.1 handler: the endpoint speaks
// HTTP/1.1). Run by .ci/test with KINESIM_BIN set: npm run endpoint
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import {
  KinesisClient, CreateStreamCommand, PutRecordsCommand, ListShardsCommand, GetShardIteratorCommand,
  GetRecordsCommand, DescribeStreamSummaryCommand, PutRecordCommand, ResourceNotFoundException,
  ProvisionedThroughputExceededException, InvalidArgumentException,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

process.removeAllListeners('warning'); // the SDK warns about node 20 support on stderr; it is not a failure

let server;
let endpoint;
let kinesis;

before(async () => {
  server = spawn(process.env.KINESIM_BIN ?? 'target/debug/kinesim', ['serve', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = await new Promise((ok) => createInterface({ input: server.stdout }).once('line', (l) => ok([l])));
  endpoint = line.replace('kinesim listening on ', '');
  kinesis = new KinesisClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'any', secretAccessKey: 'any' },
    requestHandler: new NodeHttpHandler(),
    maxAttempts: 1, // see throttling errors instead of retries
  });
});

after(() => server?.kill());

const advance = (ms) => fetch(`${endpoint}/_kinesim/advance`, { method: 'POST', body: JSON.stringify({ ms }) });

test('records put with PutRecords come back from every shard', async () => {
  await kinesis.send(new CreateStreamCommand({ StreamName: 'js', ShardCount: 2 }));
  await advance(10_000);
  const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: 'js' }));
  assert.equal(summary.StreamDescriptionSummary.StreamStatus, 'ACTIVE');
  const records = Array.from({ length: 20 }, (_, i) => ({
    Data: new TextEncoder().encode(`record ${i}`),
    PartitionKey: `key-${i}`,
  }));
  const put = await kinesis.send(new PutRecordsCommand({ StreamName: 'js', Records: records }));
  assert.equal(put.FailedRecordCount, 0);
  const { Shards } = await kinesis.send(new ListShardsCommand({ StreamName: 'js' }));
  assert.equal(Shards.length, 2);
  const read = [];
  for (const shard of Shards) {
    const { ShardIterator } = await kinesis.send(new GetShardIteratorCommand({
      StreamName: 'js', ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON',
    }));
    const got = await kinesis.send(new GetRecordsCommand({ ShardIterator }));
    for (const r of got.Records) {
      assert.ok(r.ApproximateArrivalTimestamp instanceof Date);
      read.push(new TextDecoder().decode(r.Data));
    }
  }
  assert.deepEqual(read.sort(), records.map((_, i) => `record ${i}`).sort());
});

test('errors arrive as the SDK error classes', async () => {
  await assert.rejects(
    kinesis.send(new DescribeStreamSummaryCommand({ StreamName: 'missing' })),
    (e) => e instanceof ResourceNotFoundException
      && e.message === 'Stream missing under account 000000000000 not found.',
  );
  await assert.rejects(
    kinesis.send(new GetRecordsCommand({ ShardIterator: 'AAAA' })),
    (e) => e instanceof InvalidArgumentException,
  );
});

test('a hot shard throttles with ProvisionedThroughputExceededException', async () => {
  await kinesis.send(new CreateStreamCommand({ StreamName: 'hot', ShardCount: 1 }));
  await advance(10_000);
  const big = new Uint8Array(600_000);
  await kinesis.send(new PutRecordCommand({ StreamName: 'hot', Data: big, PartitionKey: 'k' }));
  await assert.rejects(
    kinesis.send(new PutRecordCommand({ StreamName: 'hot', Data: big, PartitionKey: 'k' })),
    (e) => e instanceof ProvisionedThroughputExceededException,
  );
});
