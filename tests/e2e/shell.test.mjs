// End-to-end test of the built site in Debian's Chromium, driven by playwright-core.
//
// Serves the release build (dist/, or $KINESIM_DIST) as plain static files under a sub-path, the way a project
// page of a code host would, on 127.0.0.1 only. Fails on any console error or uncaught page error.
// Run: npm run e2e (after `trunk build index.html --release`); screenshots land in tests/e2e/output/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, normalize, extname, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const ROOT = resolve(import.meta.dirname, '..', '..');
const DIST = resolve(ROOT, process.env.KINESIM_DIST ?? 'dist');
const OUTPUT = resolve(import.meta.dirname, 'output');
const SUB_PATH = '/kinesim/';
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const TIMEOUT_MS = 15_000;

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

/** A static file server for DIST under SUB_PATH, like any plain host. */
function serveStatic() {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://127.0.0.1').pathname;
    if (path === SUB_PATH.slice(0, -1)) {
      res.writeHead(301, { location: SUB_PATH }).end();
      return;
    }
    if (!path.startsWith(SUB_PATH)) {
      res.writeHead(404).end('not under the sub-path');
      return;
    }
    let file = normalize(join(DIST, decodeURIComponent(path.slice(SUB_PATH.length))));
    if (!file.startsWith(DIST)) {
      res.writeHead(403).end();
      return;
    }
    if (path.endsWith('/')) file = join(file, 'index.html');
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

let server;
let context;
let page;
let baseUrl;
const problems = [];

before(async () => {
  await mkdir(OUTPUT, { recursive: true });
  server = await serveStatic();
  baseUrl = `http://127.0.0.1:${server.address().port}${SUB_PATH}`;
  const profile = await mkdtemp(join(tmpdir(), 'kinesim-e2e-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  context.setDefaultTimeout(TIMEOUT_MS);
  page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()}`));
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`HTTP ${res.status()} for ${res.url()}`);
  });
  context.profileDir = profile;
});

after(async () => {
  await context?.close();
  await server?.close();
  if (context?.profileDir) await rm(context.profileDir, { recursive: true, force: true });
});

const simMs = async () => Number(await page.getAttribute('#sim-time', 'data-ms'));
const waitForSimMsAbove = (min) =>
  page.waitForFunction((m) => Number(document.querySelector('#sim-time')?.dataset.ms) > m, min);

test('the page loads from a sub-path and shows the clock at zero', async () => {
  const response = await page.goto(baseUrl);
  assert.equal(response.status(), 200);
  await page.waitForSelector('#sim-time');
  // The session opens from IndexedDB first; the controls wait for it.
  await page.waitForSelector('#session-status[data-state="ready"]');
  assert.equal(await page.textContent('#sim-time'), 'T+00:00:00.000');
  assert.equal(await page.textContent('#sim-calendar'), '2026-01-01T00:00:00.000Z');
  assert.equal(await page.textContent('#run-seed'), '1');
  assert.equal(await page.title(), 'kinesim');
});

test('play advances simulated time, pause stops it', async () => {
  await page.click('#play');
  await waitForSimMsAbove(200);
  await page.click('#pause');
  await page.waitForSelector('#play');
  const paused = await simMs();
  await page.waitForTimeout(300);
  assert.equal(await simMs(), paused, 'time stands still while paused');
});

test('step jumps to the next timer, or a second ahead when none is pending', async () => {
  const before = await simMs();
  await page.click('#step');
  await waitForSimMsAbove(before);
  assert.ok((await simMs()) - before <= 1_000, 'a step moves at most a second when nothing is pending');
});

test('every page has an address: the router works under the sub-path', async () => {
  await page.click('nav.sidebar a:has-text("SDK playground")');
  await page.waitForSelector('h1:has-text("AWS SDK playground")');
  assert.match(page.url(), /\/kinesim\/#\/playground$/);
  await page.goto(`${baseUrl}#/sessions`);
  await page.waitForSelector('h1:has-text("Sessions")');
  await page.goto(`${baseUrl}#/no/such/page`);
  await page.waitForSelector('h1:has-text("Nothing here")');
  await page.click('nav.sidebar a:has-text("Dashboard")');
  await page.waitForSelector('#run-seed');
  await page.waitForSelector('#sim-time');
});

test('speed changes how fast simulated time runs', async () => {
  await page.click('button[data-speed="1000"]');
  assert.equal(await page.getAttribute('button[data-speed="1000"]', 'aria-pressed'), 'true');
  assert.equal(await page.getAttribute('button[data-speed="1"]', 'aria-pressed'), 'false');
  const before = await simMs();
  await page.click('#play');
  // At 1000x, ten simulated seconds take ten real milliseconds of frames.
  await waitForSimMsAbove(before + 10_000);
  await page.click('#pause');
  await page.click('button[data-speed="1"]');
  await mkdir(OUTPUT, { recursive: true });
  await page.screenshot({ path: join(OUTPUT, 'shell.png'), fullPage: true });
});

test('a seed restarts the run, and the same seed gives the same run', async () => {
  const hashOf = async (seed) => {
    await page.fill('#seed', String(seed));
    await page.click('#restart');
    await page.waitForFunction((s) => document.querySelector('#run-seed')?.textContent === s, String(seed));
    assert.equal(await simMs(), 0, 'a restart starts from time zero');
    for (let i = 0; i < 25; i += 1) await page.click('#step');
    return page.textContent('#event-hash');
  };
  const first = await hashOf(42);
  const other = await hashOf(7);
  const again = await hashOf(42);
  assert.equal(again, first, 'seed 42 twice gives the same event log');
  assert.notEqual(other, first, 'another seed gives another run');

  await page.fill('#seed', 'not a number');
  await page.click('#restart');
  const alert = await page.textContent('[role="alert"]');
  assert.match(alert, /whole number from 0 to 18446744073709551615/);
  assert.equal(await page.textContent('#run-seed'), '42', 'a bad seed leaves the run alone');
});

test('no console errors, failed requests or page errors', () => {
  assert.deepEqual(problems, []);
});
