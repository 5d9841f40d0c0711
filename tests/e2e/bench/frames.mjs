// Browser benchmark (prints; not part of the test run): time to first render, then frame times while 4 shards
// take writes at their full rate (4,000 records/s, uniform keys) and a TRIM_HORIZON consumer reads, at 10x and
// 100x speed, on the stream page. Also the release bundle's size.
// Run: trunk build index.html --release && node tests/e2e/bench/frames.mjs

import { readdir, readFile, stat } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { serveStatic, launch, DIST, SUB_PATH } from '../support.mjs';

const SAMPLE_MS = Number(process.env.SAMPLE_MS ?? 6_000);
// BENCH_PROFILE=1: where each speed's frame time goes. The app's own timings (src/ui/perf.rs: advancing the world,
// re-rendering the clock only or the whole page, saving) and a Chromium trace of the main thread (script, style,
// layout, paint, garbage collection), as real ms per real second.
const PROFILE = Boolean(process.env.BENCH_PROFILE);

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

const server = await serveStatic();
const base = `http://127.0.0.1:${server.address().port}${SUB_PATH}`;
const { context, close } = await launch({ width: 1280, height: 720 });
const page = context.pages()[0] ?? (await context.newPage());
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));
if (PROFILE) await page.addInitScript(() => (window.__kinesimPerf = []));
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
  const cdp = PROFILE ? await context.newCDPSession(page) : null;
  const traceEvents = [];
  if (PROFILE) {
    cdp.on('Tracing.dataCollected', ({ value }) => traceEvents.push(...value));
    await cdp.send('Tracing.start', {
      categories: 'devtools.timeline,v8,disabled-by-default-devtools.timeline',
      transferMode: 'ReportEvents',
    });
    await page.evaluate(() => (window.__kinesimPerf.length = 0));
  }
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
  const profile = PROFILE ? await readProfile(cdp, traceEvents) : null;
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
    profile,
  };
}

// The app's timings and the trace's main-thread events over the sample, summed by name: real ms per real second,
// and the app's per-occurrence p50/p95.
async function readProfile(cdp, traceEvents) {
  const entries = await page.evaluate(() => window.__kinesimPerf.splice(0));
  const done = new Promise((ok) => cdp.once('Tracing.tracingComplete', ok));
  await cdp.send('Tracing.end');
  await done;
  const app = {};
  for (const [name, start, end] of entries) (app[name] ??= []).push(end - start);
  const appLines = Object.entries(app).map(([name, ds]) => {
    const sorted = ds.sort((a, b) => a - b);
    const sum = ds.reduce((a, b) => a + b, 0);
    return `  app ${name}: ${((sum / SAMPLE_MS) * 1_000).toFixed(0)} ms/s, ${ds.length} times, p50 ${percentile(sorted, 50).toFixed(1)} ms, p95 ${percentile(sorted, 95).toFixed(1)} ms, max ${sorted.at(-1).toFixed(1)} ms`;
  });
  const main = traceEvents.find((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain');
  const byName = {};
  for (const e of traceEvents) {
    if (!main || e.pid !== main.pid || e.tid !== main.tid || e.ph !== 'X' || !e.dur) continue;
    byName[e.name] = (byName[e.name] ?? 0) + e.dur / 1_000;
  }
  const traceLines = Object.entries(byName)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 14)
    .map(([name, ms]) => `  trace ${name}: ${((ms / SAMPLE_MS) * 1_000).toFixed(0)} ms/s`);
  await cdp.detach();
  return [...appLines, ...traceLines].join('\n');
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
  if (r.profile) console.log(r.profile);
}
console.log(`release bundle: wasm ${(wasmBytes / 1024).toFixed(0)} KiB (${(wasmGzip / 1024).toFixed(0)} KiB gzip), js ${(jsBytes / 1024).toFixed(0)} KiB`);
if (errors.length) console.log('page errors:', errors);
await close();
server.close();
