// Browser benchmark (prints; not part of the test run): time to first render, then frame times while 4 shards
// take writes at their full rate (4,000 records/s, uniform keys) and a TRIM_HORIZON consumer reads, at 10x and
// 100x speed, on the stream page. Also the release bundle's size.
// Run: trunk build index.html --release && node tests/e2e/bench/frames.mjs

import { readdir, readFile, stat } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { serveStatic, launch, DIST, SUB_PATH } from '../support.mjs';

const SAMPLE_MS = Number(process.env.SAMPLE_MS ?? 6_000);

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

const server = await serveStatic();
const base = `http://127.0.0.1:${server.address().port}${SUB_PATH}`;
const { context, close } = await launch({ width: 1280, height: 720 });
const page = context.pages()[0] ?? (await context.newPage());
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));
await page.addInitScript(() => {
  const seen = () => {
    if (!window.__firstRender && document.querySelector('#sim-time')) window.__firstRender = performance.now();
  };
  new MutationObserver(seen).observe(document, { childList: true, subtree: true });
});
await page.goto(base);
await page.waitForSelector('#create-stream');
const firstRenderMs = await page.evaluate(() => window.__firstRender);

await page.fill('#new-stream-name', 'bench');
await page.fill('#new-stream-shards', '4');
await page.click('#create-stream');
await page.waitForSelector('#stream-title');
await page.click('button[data-speed="100"]');
await page.click('#play');
await page.waitForFunction(() => document.querySelector('#stream-status')?.textContent === 'ACTIVE');
await page.click('#pause');
await page.fill('#p-rate', '4000');
await page.fill('#p-keys', '10000');
await page.click('#start-producer');
await page.click('#start-consumer');

async function measure(speed) {
  if (process.env.BENCH_ROUTE) await page.goto(`${base}${process.env.BENCH_ROUTE}`);
  await page.click(`button[data-speed="${speed}"]`);
  const simBefore = Number(await page.getAttribute('#sim-time', 'data-ms'));
  await page.click('#play');
  await page.waitForTimeout(1_000); // warm up
  const frames = await page.evaluate(
    (ms) =>
      new Promise((done) => {
        const times = [];
        let last = performance.now();
        const end = last + ms;
        const tick = (t) => {
          times.push(t - last);
          last = t;
          if (t < end) requestAnimationFrame(tick);
          else done(times);
        };
        requestAnimationFrame(tick);
      }),
    SAMPLE_MS,
  );
  await page.click('#pause');
  const simAfter = Number(await page.getAttribute('#sim-time', 'data-ms'));
  const sorted = frames.slice(1).sort((a, b) => a - b);
  if (process.env.BENCH_ROUTE) await page.goto(`${base}#/streams/bench`);
  const acked = await page.textContent('li[data-producer="clickstream"] .acked');
  const throttled = await page.textContent('li[data-producer="clickstream"] .throttled');
  return {
    speed,
    frames: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    max: sorted.at(-1),
    simSecondsPerRealSecond: (simAfter - simBefore) / (SAMPLE_MS + 1_000),
    acked,
    throttled,
  };
}

const results = [await measure(10), await measure(100)];

const files = await readdir(DIST);
const wasm = files.find((f) => f.endsWith('.wasm'));
const js = files.find((f) => f.endsWith('.js'));
const wasmBytes = (await stat(join(DIST, wasm))).size;
const wasmGzip = gzipSync(await readFile(join(DIST, wasm))).length;
const jsBytes = (await stat(join(DIST, js))).size;

console.log(`time to first render: ${firstRenderMs.toFixed(0)} ms`);
for (const r of results) {
  console.log(
    `${r.speed}x: frame time p50 ${r.p50.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms, max ${r.max.toFixed(1)} ms ` +
      `over ${r.frames} frames; ${r.simSecondsPerRealSecond.toFixed(1)} simulated s per real s; ` +
      `producer acknowledged ${r.acked}, throttled ${r.throttled}`,
  );
}
console.log(`release bundle: wasm ${(wasmBytes / 1024).toFixed(0)} KiB (${(wasmGzip / 1024).toFixed(0)} KiB gzip), js ${(jsBytes / 1024).toFixed(0)} KiB`);
if (errors.length) console.log('page errors:', errors);
await close();
server.close();
