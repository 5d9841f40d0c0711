// Shared by the end-to-end tests and the browser benchmark: a static server for the built site under a sub-path
// (as a code host's project page serves it) and Debian's Chromium driven by playwright-core.

import { createServer } from 'node:http';
import { spawn } from 'node:child_process';
import { before, after } from 'node:test';
import { readFile, mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, normalize, extname, resolve } from 'node:path';
import { chromium } from 'playwright-core';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const DIST = resolve(ROOT, process.env.KINESIM_DIST ?? 'dist');
export const OUTPUT = resolve(import.meta.dirname, 'output');
export const SUB_PATH = '/kinesim/';
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

/** A static file server for DIST under SUB_PATH, on 127.0.0.1 and a free port. */
export function serveStatic() {
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

/** Flags every test's Chromium runs with (root in a container: no sandbox; no background traffic). */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Headless Chromium on the profile folder `dir` (kept; a reopened profile sees what the last run stored). */
export function openProfile(dir, { width = 1280, height = 720, acceptDownloads = false } = {}) {
  return chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width, height },
    acceptDownloads,
    args: CHROMIUM_ARGS,
  });
}

/** Headless Chromium with a throwaway profile; `close()` removes the profile. */
export async function launch(options = {}) {
  const profile = await mkdtemp(join(tmpdir(), 'kinesim-e2e-'));
  const context = await openProfile(profile, options);
  const close = async () => {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  };
  return { context, close, profile };
}

/**
 * Starts Chromium as a child process on the profile folder `dir` (so a test can SIGKILL it, with no pagehide or
 * unload) and connects over the DevTools protocol. Returns `{ child, browser }`.
 */
export async function launchKillable(dir, timeoutMs = 20_000) {
  const child = spawn(CHROMIUM, ['--headless=new', ...CHROMIUM_ARGS, '--remote-debugging-port=0',
    `--user-data-dir=${dir}`, 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const wsUrl = await new Promise((ok, fail) => {
    let text = '';
    const timer = setTimeout(() => fail(new Error(`no DevTools URL from Chromium: ${text}`)), timeoutMs);
    child.stderr.on('data', (chunk) => {
      text += chunk;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
  });
  const browser = await chromium.connectOverCDP(wsUrl);
  return { child, browser };
}

/** Collects console errors, page errors, failed requests and HTTP errors of `page` into `problems`. */
export function watchProblems(page, problems) {
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()}`));
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`HTTP ${res.status()} for ${res.url()}`);
  });
}

/** Default action timeout of [`openSite`] pages, in ms. */
export const OPEN_SITE_TIMEOUT_MS = 20_000;

/** Serves the site, opens it in a fresh headless Chromium, waits for `window.kinesim`. */
export async function openSite() {
  const server = await serveStatic();
  const baseUrl = `http://127.0.0.1:${server.address().port}${SUB_PATH}`;
  const browser = await launch();
  browser.context.setDefaultTimeout(OPEN_SITE_TIMEOUT_MS);
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  const problems = [];
  watchProblems(page, problems);
  await page.goto(baseUrl);
  await page.waitForFunction(() => window.kinesim?.Session !== undefined);
  const close = async () => {
    await browser.close();
    await new Promise((ok) => server.close(ok));
  };
  return { page, problems, close };
}

/**
 * One app page for a whole test file, as a learner's tour takes it: registers `before`/`after` hooks that serve
 * the site and open headless Chromium at `viewport` (console errors collect in `tour.problems`). `tour.page` and
 * `tour.baseUrl` are set once `tour.ready` resolves (await it in the file's own `before`). The helpers drive the clock bar and save screenshots as
 * tests/e2e/output/PREFIX-NAME.png.
 */
export function appTour(prefix, { viewport = { width: 1280, height: 720 }, timeoutMs = 20_000, fullPage = false } = {}) {
  const tour = { page: undefined, baseUrl: undefined, problems: [] };
  let server;
  let browser;
  // Root-level `before` hooks of one file do not wait for each other: a file's own hook awaits `tour.ready`.
  let settle;
  tour.ready = new Promise((ok, fail) => {
    settle = { ok, fail };
  });
  tour.ready.catch(() => {});
  before(async () => {
    try {
      await mkdir(OUTPUT, { recursive: true });
      server = await serveStatic();
      tour.baseUrl = `http://127.0.0.1:${server.address().port}${SUB_PATH}`;
      browser = await launch(viewport);
      browser.context.setDefaultTimeout(timeoutMs);
      tour.page = browser.context.pages()[0] ?? (await browser.context.newPage());
      watchProblems(tour.page, tour.problems);
      settle.ok();
    } catch (e) {
      settle.fail(e);
      throw e;
    }
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });
  /** A screenshot, after scrolling the element `anchor` (a selector) to the top if given. */
  tour.shot = async (name, anchor) => {
    if (anchor) await tour.page.evaluate((a) => document.querySelector(a)?.scrollIntoView({ block: 'start' }), anchor);
    await tour.page.screenshot({ path: join(OUTPUT, `${prefix}-${name}.png`), fullPage });
  };
  /**
   * Asserts that the table `selector` fits its scroll container (its `.table-wrap`) and the page without
   * sideways scrolling: scrollWidth <= clientWidth for both, at the current viewport.
   */
  tour.assertNoSidewaysScroll = async (selector) => {
    const m = await tour.page.$eval(selector, (table) => {
      const wrap = table.closest('.table-wrap') ?? table.parentElement;
      const doc = document.documentElement;
      return {
        tableWidth: table.getBoundingClientRect().width,
        wrapScroll: wrap.scrollWidth,
        wrapClient: wrap.clientWidth,
        pageScroll: doc.scrollWidth,
        pageClient: doc.clientWidth,
      };
    });
    const where = `${selector} at ${JSON.stringify(tour.page.viewportSize())}: ${JSON.stringify(m)}`;
    if (m.wrapScroll > m.wrapClient) throw new Error(`scrolls sideways: ${where}`);
    if (m.pageScroll > m.pageClient) throw new Error(`the page scrolls sideways: ${where}`);
    return m;
  };
  /** The simulated time the clock bar shows, in ms. */
  tour.simMs = async () => Number(await tour.page.getAttribute('#sim-time', 'data-ms'));
  tour.speed = (x) => tour.page.click(`button[data-speed="${x}"]`);
  tour.play = () => tour.page.click('#play');
  tour.pause = async () => {
    await tour.page.click('#pause');
    await tour.page.waitForSelector('#play');
  };
  /**
   * Creates a provisioned stream from the dashboard's form, as a learner does, and runs the clock at 100x until it
   * is ACTIVE (then pauses, on the stream's page).
   */
  tour.createStream = async (name, shards) => {
    const page = tour.page;
    await page.goto(tour.baseUrl);
    await page.waitForSelector('#create-stream');
    await page.fill('#new-stream-name', name);
    await page.fill('#new-stream-shards', String(shards));
    await page.click('#create-stream');
    await page.waitForSelector('#stream-title');
    await tour.speed(100);
    await tour.play();
    await page.waitForFunction(() => document.querySelector('#stream-status')?.textContent === 'ACTIVE');
    await tour.pause();
  };
  /** Runs simulated time forward by at least `ms` at the current speed, then pauses. */
  tour.runFor = async (ms) => {
    const from = await tour.simMs();
    await tour.play();
    await tour.page.waitForFunction((m) => Number(document.querySelector('#sim-time')?.dataset.ms) >= m, from + ms);
    await tour.pause();
  };
  return tour;
}
