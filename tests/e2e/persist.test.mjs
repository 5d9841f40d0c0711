// End-to-end test of sessions in IndexedDB: the built site in Debian's Chromium, driven by playwright-core.
//
// Reload after a pause and in the middle of a run, a second tab on the same session, the sessions panel
// (create, rename, switch, duplicate, delete) and export/import. Run: npm run e2e (after
// `trunk build index.html --release`).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SUB_PATH, serveStatic, openProfile, launchKillable } from './support.mjs';

const TIMEOUT_MS = 15_000;

let server;
let context;
let page;
let baseUrl;
let profile;
let work;
const problems = [];
const saves = []; // { hash, ms } of every commit the main page reported

function watch(p, reported = saves) {
  p.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
    const m = /^kinesim saved ([0-9a-f]{64}) (\d+)$/.exec(msg.text());
    if (m) reported.push({ hash: m[1], ms: Number(m[2]) });
  });
  p.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
}

before(async () => {
  server = await serveStatic();
  baseUrl = `http://127.0.0.1:${server.address().port}${SUB_PATH}`;
  profile = await mkdtemp(join(tmpdir(), 'kinesim-persist-'));
  work = await mkdtemp(join(tmpdir(), 'kinesim-files-'));
  context = await openProfile(profile, { acceptDownloads: true });
  context.setDefaultTimeout(TIMEOUT_MS);
  page = context.pages()[0] ?? (await context.newPage());
  watch(page);
});

after(async () => {
  await context?.close();
  await server?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
  if (work) await rm(work, { recursive: true, force: true });
});

const ready = (p = page) => p.waitForSelector('#session-status[data-state="ready"]');
const simMs = async (p = page) => Number(await p.getAttribute('#sim-time', 'data-ms'));
const shownHash = (p = page) => p.textContent('#event-hash');
const savedHash = (p = page) => p.getAttribute('#session-status', 'data-saved-hash');
/** Waits until everything the page did is committed. */
const settled = (p = page) => p.waitForFunction(() => {
  const saved = document.querySelector('#session-status')?.dataset.savedHash ?? '';
  const shown = document.querySelector('#event-hash')?.textContent ?? '';
  return saved.length === 64 && saved.startsWith(shown);
});

test('the first visit makes and saves a default session', async () => {
  await page.goto(baseUrl);
  await ready();
  assert.match(await page.textContent('#sessions'), /Default session/);
  await settled();
});

test('a reload after a pause restores the same state and hash', async () => {
  await page.click('button[data-speed="10"]');
  await page.click('#play');
  await page.waitForFunction(() => Number(document.querySelector('#sim-time')?.dataset.ms) > 5_000);
  await page.click('#pause');
  await settled();
  // An empty world's hash does not change as time passes: wait until the paused time itself is reported saved.
  const pausedMs = await simMs();
  for (let i = 0; i < 100 && !saves.some((s) => s.ms === pausedMs); i += 1) await page.waitForTimeout(50);
  const [ms, hash] = [await simMs(), await shownHash()];
  await page.reload();
  await ready();
  assert.equal(await simMs(), ms);
  assert.equal(await shownHash(), hash);
});

test('a reload in the middle of a run restores the last commit', async () => {
  await page.click('button[data-speed="100"]');
  await page.click('#play');
  await page.waitForTimeout(1_200); // several 250 ms autosaves while running
  const before = saves.length;
  assert.ok(before > 2, `commits were reported while running (${before})`);
  const lastReported = saves[saves.length - 1];
  await page.reload(); // no pause: pagehide flushes what it can
  await ready();
  const [ms, hash] = [await simMs(), await savedHash()];
  assert.ok(ms >= lastReported.ms, `restored ${ms} ms, last reported commit ${lastReported.ms} ms`);
  const known = saves.filter((s) => s.hash === hash).pop();
  if (known) assert.ok(ms >= known.ms, 'a reported commit comes back');
  assert.ok(hash.startsWith(await shownHash()), 'the restored world has the committed hash');
  // The restored run continues deterministically: replaying it again gives the same hash.
  await page.reload();
  await ready();
  assert.equal(await savedHash(), hash);
  assert.equal(await simMs(), ms);
});

test('a second tab on the same session is read-only', async () => {
  const second = await context.newPage();
  watch(second);
  await second.goto(baseUrl);
  await second.waitForSelector('#session-status[data-state="read-only"]');
  assert.match(await second.textContent('#session-message'), /open in another tab/);
  const ms = await simMs(second);
  await second.click('#play');
  await second.waitForTimeout(300);
  assert.equal(await simMs(second), ms, 'a read-only tab does not run the session');
  await second.close();
});

test('sessions can be created, renamed, switched, duplicated and deleted', async () => {
  const defaultHash = await shownHash();
  await page.click('#session-new');
  await page.waitForFunction(() => document.querySelectorAll('#sessions li').length === 2);
  await ready();
  assert.equal(await simMs(), 0, 'a new session starts at time zero');
  await page.fill('#session-name', 'Experiment');
  await page.click('.session-rename button');
  await page.waitForFunction(() => document.querySelector('#sessions')?.textContent.includes('Experiment'));
  await page.click('li[data-session="default"] .switch');
  await page.waitForSelector('li[data-session="default"].current');
  await ready();
  assert.equal(await shownHash(), defaultHash, 'switching back restores the session');
  await page.click('li[data-session="default"] .duplicate');
  await page.waitForFunction(() => document.querySelectorAll('#sessions li').length === 3);
  const copy = await page.$$eval('#sessions li', (lis) =>
    lis.map((li) => [li.dataset.session, li.textContent]).find(([, t]) => t.includes('Copy of'))[0]);
  await page.click(`li[data-session="${copy}"] .switch`);
  await page.waitForSelector(`li[data-session="${copy}"].current`);
  await ready();
  assert.equal(await shownHash(), defaultHash, 'a copy holds the same run');
  await page.click('li[data-session="default"] .switch');
  await page.waitForSelector('li[data-session="default"].current');
  await ready();
  await page.click(`li[data-session="${copy}"] .delete`);
  await page.waitForFunction(() => document.querySelectorAll('#sessions li').length === 2);
});

test('a session exports to a file and imports back; bad files are refused', async () => {
  const hash = await shownHash();
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click('li[data-session="default"] .export'),
  ]);
  const file = join(work, 'default.kinesim');
  await download.saveAs(file);
  const count = await page.$$eval('#sessions li', (lis) => lis.length);
  await page.setInputFiles('#session-import', file);
  await page.waitForFunction((n) => document.querySelectorAll('#sessions li').length === n + 1, count);
  await ready();
  assert.equal(await shownHash(), hash, 'the imported session is the exported one');

  const junk = join(work, 'junk.kinesim');
  await writeFile(junk, 'this is not a session');
  await page.setInputFiles('#session-import', junk);
  await page.waitForSelector('#session-message');
  assert.match(await page.textContent('#session-message'), /not a kinesim session file/);
  const bytes = await readFile(file);
  const truncated = join(work, 'truncated.kinesim');
  await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
  await page.setInputFiles('#session-import', truncated);
  await page.waitForFunction(() => document.querySelector('#session-message')?.textContent.includes('truncated'));
});

test('killing the browser mid-run loses nothing committed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kinesim-crash-'));
  try {
    const { child, browser } = await launchKillable(dir, TIMEOUT_MS);
    const p = browser.contexts()[0].pages()[0] ?? (await browser.contexts()[0].newPage());
    const mine = [];
    watch(p, mine);
    await p.goto(baseUrl);
    await ready(p);
    await p.click('button[data-speed="100"]');
    await p.click('#play');
    await p.waitForTimeout(1_500);
    assert.ok(mine.length > 2, `commits were reported while running (${mine.length})`);
    const last = mine[mine.length - 1];
    child.kill('SIGKILL'); // no pagehide, no unload: the process just dies
    await new Promise((ok) => child.once('exit', ok));
    await browser.close().catch(() => {});

    const reopened = await openProfile(dir);
    try {
      const q = reopened.pages()[0] ?? (await reopened.newPage());
      await q.goto(baseUrl);
      await ready(q);
      const [ms, hash] = [await simMs(q), await savedHash(q)];
      assert.ok(ms >= last.ms, `restored ${ms} ms; the last reported commit held ${last.ms} ms`);
      // Time passing without events leaves the hash alone, so several commits can share it: the restored
      // state is at least the last commit reported with its hash.
      const known = mine.filter((s) => s.hash === hash).pop();
      if (known) assert.ok(ms >= known.ms, 'a reported commit comes back');
      assert.ok(hash.startsWith(await shownHash(q)), 'the restored world has the committed hash');
    } finally {
      await reopened.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('no console errors or page errors', () => {
  assert.deepEqual(problems, []);
});
