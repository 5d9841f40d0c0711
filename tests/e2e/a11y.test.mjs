// Labelled, keyboard-reachable controls, in Debian's Chromium against the release build: on every page a learner
// visits, each control Chromium exposes to assistive technology (buttons, text fields, selects, checkboxes,
// links) has an accessible name, as Chromium computes it (the CDP accessibility tree), and none is taken out of
// the tab order. Then a keyboard-only tour: Tab to the stream form, create a stream, Tab to play and start the
// clock. Screenshots land in tests/e2e/output/a11y-*.png. Fails on any console error.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { appTour } from './support.mjs';

const tour = appTour('a11y');
const { problems, shot, play, pause } = tour;
let page;
let baseUrl;
before(async () => {
  await tour.ready;
  ({ page, baseUrl } = tour);
});

// Roles a user operates; each needs a name a screen reader can say.
const CONTROL_ROLES = new Set([
  'button',
  'textbox',
  'searchbox',
  'combobox',
  'listbox',
  'checkbox',
  'radio',
  'spinbutton',
  'slider',
  'switch',
  'link',
  'tab',
  'menuitem',
]);
// Tab presses allowed to reach one control from the top of a page (the clock bar and navigation come first).
const TABS_MAX = 80;

/** Controls in the accessibility tree of the current page without a name: [{ role, html }]. */
async function unnamedControls() {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = await cdp.send('Accessibility.getFullAXTree');
    const unnamed = [];
    for (const node of nodes) {
      const role = node.role?.value;
      if (node.ignored || !CONTROL_ROLES.has(role)) continue;
      if (String(node.name?.value ?? '').trim() !== '') continue;
      let html = '(no DOM node)';
      if (node.backendDOMNodeId) {
        const { object } = await cdp.send('DOM.resolveNode', { backendNodeId: node.backendDOMNodeId });
        const { result } = await cdp.send('Runtime.callFunctionOn', {
          objectId: object.objectId,
          functionDeclaration: 'function () { return this.outerHTML.slice(0, 160); }',
          returnByValue: true,
        });
        html = result.value;
      }
      unnamed.push({ role, html });
    }
    return unnamed;
  } finally {
    await cdp.detach();
  }
}

/** Visible, enabled controls that are kept out of the tab order (tabindex -1) although a mouse can use them. */
const untabbable = () =>
  page.$$eval('button, input, select, textarea, a[href], [onclick]', (els) =>
    els
      .filter((el) => el.getClientRects().length > 0 && !el.disabled && el.type !== 'hidden')
      .filter((el) => el.tabIndex < 0 && !el.closest('[aria-hidden="true"]'))
      .map((el) => el.outerHTML.slice(0, 160)),
  );

/** Presses Tab until `selector` has the focus; returns how many presses it took. */
async function tabTo(selector) {
  for (let presses = 1; presses <= TABS_MAX; presses += 1) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return presses;
  }
  throw new Error(`${selector} was not reached in ${TABS_MAX} Tab presses`);
}

test('every control on every page has an accessible name and is in the tab order', async () => {
  // Something on each page: a stream with a producer and a consumer, a delivery stream, an analytics app.
  await tour.createStream('labels', 2);
  await page.click('#start-producer');
  await page.click('#start-consumer');
  await play();
  await page.waitForTimeout(500);
  await pause();

  const scenarios = `${baseUrl}#/scenarios`;
  const routes = [
    '#/',
    '#/streams/labels',
    '#/streams/labels/shards/shardId-000000000000',
    '#/firehose',
    '#/s3',
    '#/analytics',
    '#/compare',
    '#/playground',
    '#/sessions',
    '#/scenarios',
  ];
  const found = [];
  for (const route of routes) {
    await page.goto(`${baseUrl}${route}`);
    await page.waitForSelector('#sim-time');
    await page.waitForLoadState('networkidle');
    for (const c of await unnamedControls()) found.push(`${route}: unnamed ${c.role}: ${c.html}`);
    for (const html of await untabbable()) found.push(`${route}: out of the tab order: ${html}`);
  }
  // The first scenario's page, reached as a learner does: from the list.
  await page.goto(scenarios);
  const first = page.locator('a[href*="#/scenarios/"]').first();
  if ((await first.count()) > 0) {
    await first.click();
    await page.waitForLoadState('networkidle');
    for (const c of await unnamedControls()) found.push(`${page.url()}: unnamed ${c.role}: ${c.html}`);
  }
  await shot('1-scenario');
  assert.deepEqual(found, []);
});

test('keyboard only: create a stream and run the clock without the mouse', async () => {
  await page.goto(`${baseUrl}#/`);
  await page.waitForSelector('#create-stream');
  await page.evaluate(() => document.activeElement?.blur());
  await tabTo('#new-stream-name');
  await page.keyboard.type('keys');
  await tabTo('#new-stream-shards');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('3');
  await tabTo('#create-stream');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#stream-title');
  assert.match(page.url(), /#\/streams\/keys$/);
  // The clock bar is reachable from the stream page, and Enter on play starts the clock.
  await page.evaluate(() => document.activeElement?.blur());
  const from = Number(await page.getAttribute('#sim-time', 'data-ms'));
  await tabTo('#play');
  await page.keyboard.press('Enter');
  await page.waitForFunction((m) => Number(document.querySelector('#sim-time')?.dataset.ms) > m, from);
  await page.waitForFunction(() => document.querySelector('#stream-status')?.textContent === 'ACTIVE');
  await shot('2-keyboard');
  await pause();
  assert.equal(await page.textContent('#open-shards'), '3');
});

test('no console errors, failed requests or page errors', () => {
  assert.deepEqual(problems, []);
});
