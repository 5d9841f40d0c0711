// Endpoint benchmark (prints figures; not part of the test run): PutRecords records/s through `kinesim serve`
// with the AWS SDK for JavaScript v3 (HTTP/1.1 handler), beside kinesalite (npm, in memory) measured in the same
// run with the same client on the same machine. Batches of 500 records of 100 bytes, random partition keys, a
// stream of 4 shards, kinesim's throughput limits off (kinesalite has none).
//
//   cargo build --release --bin kinesim && node benches/endpoint.mjs
//
// Settings (environment): KINESIM_BIN (default $CARGO_TARGET_DIR/release/kinesim), BENCH_SECONDS (default 10),
// BENCH_CONCURRENCY (requests in flight per client, default 16), BENCH_CLIENTS (client threads, default 2).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createServer } from 'node:net';
import { Agent } from 'node:http';
import { randomBytes } from 'node:crypto';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { KinesisClient, CreateStreamCommand, DescribeStreamSummaryCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

const RECORDS_PER_BATCH = 500;
const RECORD_BYTES = 100;
const SHARDS = 4;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 2);

process.removeAllListeners('warning'); // the SDK warns about node 20 support on stderr; it is not a failure

function client(endpoint, maxSockets) {
  return new KinesisClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets }) }),
    maxAttempts: 1,
  });
}

function batches(count) {
  return Array.from({ length: count }, () =>
    Array.from({ length: RECORDS_PER_BATCH }, () => ({
      Data: randomBytes(RECORD_BYTES),
      PartitionKey: randomBytes(12).toString('hex'),
    })));
}

/** One client thread: CONCURRENCY loops of PutRecords until the deadline; returns records accepted. */
async function drive(endpoint, stream, deadlineMs) {
  const kinesis = client(endpoint, CONCURRENCY);
  const pool = batches(16);
  let accepted = 0;
  let failed = 0;
  let errors = 0;
  let next = 0;
  const loop = async () => {
    while (Date.now() < deadlineMs) {
      const Records = pool[next++ % pool.length];
      try {
        const out = await kinesis.send(new PutRecordsCommand({ StreamName: stream, Records }));
        accepted += Records.length - (out.FailedRecordCount ?? 0);
        failed += out.FailedRecordCount ?? 0;
      } catch {
        errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
  return { accepted, failed, errors };
}

if (!isMainThread) {
  const { endpoint, stream, deadlineMs } = workerData;
  parentPort.postMessage(await drive(endpoint, stream, deadlineMs));
} else {
  await main();
}

function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

function firstLine(child, pattern) {
  return new Promise((ok, fail) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => { if (pattern.test(line)) ok(line); });
    child.once('exit', (code) => fail(new Error(`server exited with ${code} before it listened`)));
  });
}

async function measure(name, endpoint, makeActive) {
  const stream = 'bench';
  const setup = client(endpoint, 1);
  await setup.send(new CreateStreamCommand({ StreamName: stream, ShardCount: SHARDS }));
  await makeActive();
  for (let i = 0; i < 200; i++) {
    const s = await setup.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
    if (s.StreamDescriptionSummary.StreamStatus === 'ACTIVE') break;
    await new Promise((ok) => setTimeout(ok, 50));
  }
  const self = fileURLToPath(import.meta.url);
  // Warm up (connections, JIT) for one second, then measure.
  await Promise.all(Array.from({ length: CLIENTS }, () => runWorker(self, endpoint, stream, Date.now() + 1_000)));
  const started = process.hrtime.bigint();
  const results = await Promise.all(
    Array.from({ length: CLIENTS }, () => runWorker(self, endpoint, stream, Date.now() + SECONDS * 1_000)));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const total = results.reduce((a, r) => ({
    accepted: a.accepted + r.accepted, failed: a.failed + r.failed, errors: a.errors + r.errors,
  }), { accepted: 0, failed: 0, errors: 0 });
  const perSecond = total.accepted / seconds;
  console.log(`${name.padEnd(12)} ${Math.round(perSecond).toLocaleString('en-US').padStart(10)} records/s ` +
    `(${total.accepted.toLocaleString('en-US')} accepted, ${total.failed} failed records, ${total.errors} failed calls, ` +
    `${seconds.toFixed(1)} s)`);
  return perSecond;
}

function runWorker(self, endpoint, stream, deadlineMs) {
  return new Promise((ok, fail) => {
    const worker = new Worker(self, { workerData: { endpoint, stream, deadlineMs } });
    worker.once('message', ok);
    worker.once('error', fail);
  });
}

async function main() {
  const bin = process.env.KINESIM_BIN
    ?? `${process.env.CARGO_TARGET_DIR ?? 'target'}/release/kinesim`;
  console.log(`PutRecords through the AWS SDK for JavaScript v3 (HTTP/1.1), ${RECORDS_PER_BATCH} records of ` +
    `${RECORD_BYTES} B a call, random keys, ${SHARDS} shards; ${CLIENTS} client thread(s) x ${CONCURRENCY} ` +
    `calls in flight, ${SECONDS} s each`);
  const children = [];
  try {
    const kinesim = spawn(bin, ['serve', '--port', '0', '--limits', 'off'], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(kinesim);
    const line = await firstLine(kinesim, /listening on/);
    const kinesimEndpoint = line.replace('kinesim listening on ', '');
    const ours = await measure('kinesim', kinesimEndpoint, () =>
      fetch(`${kinesimEndpoint}/_kinesim/advance`, { method: 'POST', body: JSON.stringify({ ms: 60_000 }) }));

    const require = createRequire(import.meta.url);
    const cli = require.resolve('kinesalite/cli.js');
    const port = await freePort();
    const kinesalite = spawn(process.execPath, [cli, '--port', String(port), '--createStreamMs', '0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(kinesalite);
    await firstLine(kinesalite, /Listening/);
    const theirs = await measure('kinesalite', `http://127.0.0.1:${port}`, async () => {});
    console.log(`kinesim / kinesalite: ${(ours / theirs).toFixed(1)}x`);
  } finally {
    for (const child of children) child.kill();
  }
}
