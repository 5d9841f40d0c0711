// The isolated function runner (www/sandbox-runner.js) in the built page, in Debian's Chromium: a good function
// answers, a throw is reported as Lambda's {errorType, errorMessage}, an endless loop times out while the page
// stays responsive (and the next call gets a fresh worker), and the function cannot reach the page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openSite } from './support.mjs';

let site;

before(async () => {
  site = await openSite();
  await site.page.evaluate(() => {
    window.testSandbox = new window.KinesimSandbox();
  });
});

after(async () => {
  await site?.close();
});

const invoke = (code, event = {}, timeoutMs = 2_000) =>
  site.page.evaluate(
    ([code, eventJson, timeoutMs]) => window.testSandbox.invoke({ code, eventJson, timeoutMs }),
    [code, JSON.stringify(event), timeoutMs],
  );

test('a good function gets the event and its result comes back as JSON', async () => {
  const r = await invoke(
    'async (event, context) => ({ count: event.Records.length, first: event.Records[0].kinesis.partitionKey })',
    { Records: [{ kinesis: { partitionKey: 'a' } }, { kinesis: { partitionKey: 'b' } }] },
  );
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.deepEqual(JSON.parse(r.resultJson), { count: 2, first: 'a' });
  const nothing = await invoke('async () => {}');
  assert.equal(nothing.resultJson, 'null');
});

test('a thrown error is reported like a Lambda function error', async () => {
  const r = await invoke('async (event) => { throw new TypeError("bad record " + event.n); }', { n: 3 });
  assert.equal(r.ok, false);
  assert.equal(r.errorType, 'TypeError');
  assert.equal(r.errorMessage, 'bad record 3');
  assert.equal(r.timedOut, false);
  const syntax = await invoke('async (event) => {');
  assert.equal(syntax.errorType, 'SyntaxError');
  const notFn = await invoke('42');
  assert.equal(notFn.errorType, 'TypeError');
  assert.match(notFn.errorMessage, /function expression/);
  const late = await invoke('async () => { setTimeout(() => { throw new RangeError("later"); }, 0); await new Promise(() => {}); }');
  assert.equal(late.errorType, 'RangeError');
});

test('an endless loop times out, the page stays responsive, the next call works', async () => {
  const { page } = site;
  const started = Date.now();
  const pending = page.evaluate(() =>
    window.testSandbox.invoke({ code: 'async () => { for (;;) {} }', eventJson: '{}', timeoutMs: 1_500 }),
  );
  // While the worker spins, the page answers at once.
  await new Promise((ok) => setTimeout(ok, 300));
  const probe = Date.now();
  assert.equal(await page.evaluate(() => document.title), 'kinesim');
  const probeMs = Date.now() - probe;
  assert.ok(probeMs < 1_000, `the page answered in ${probeMs} ms while the function looped`);
  const r = await pending;
  assert.equal(r.ok, false);
  assert.equal(r.timedOut, true);
  assert.equal(r.errorType, 'Sandbox.Timedout');
  assert.equal(r.errorMessage, 'Task timed out after 1.50 seconds');
  assert.ok(Date.now() - started < 10_000);
  const after = await invoke('async () => "fresh"');
  assert.equal(after.ok, true);
  assert.equal(after.resultJson, '"fresh"');
});

test('the function cannot touch the page: no document, window, fetch or storage', async () => {
  const r = await invoke(
    `async () => ({
      document: typeof document, window: typeof window, fetch: typeof fetch, xhr: typeof XMLHttpRequest,
      indexedDB: typeof indexedDB, importScripts: typeof importScripts, caches: typeof caches,
      parent: typeof parent, localStorage: typeof localStorage
    })`,
  );
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.deepEqual(JSON.parse(r.resultJson), {
    document: 'undefined',
    window: 'undefined',
    fetch: 'undefined',
    xhr: 'undefined',
    indexedDB: 'undefined',
    importScripts: 'undefined',
    caches: 'undefined',
    parent: 'undefined',
    localStorage: 'undefined',
  });
  const touch = await invoke('async () => { document.body.innerHTML = "owned"; }');
  assert.equal(touch.ok, false);
  assert.equal(touch.errorType, 'ReferenceError');
  assert.notEqual(await site.page.evaluate(() => document.body.innerHTML), 'owned');
});

test('bad requests are refused with a message', async () => {
  const empty = await invoke('   ');
  assert.equal(empty.errorType, 'InvalidParameterValueException');
  const r = await site.page.evaluate(() =>
    window.testSandbox.invoke({ code: 'async () => 1', eventJson: '{}', timeoutMs: 0 }),
  );
  assert.equal(r.errorType, 'InvalidParameterValueException');
  assert.match(r.errorMessage, /time limit/);
});

test('a Lambda event-source mapping runs user JavaScript isolated; a looping function is retried, not hung', async () => {
  const out = await site.page.evaluate(async () => {
    const session = new window.kinesim.Session(3);
    const send = (op, body) => session.send(`Kinesis_20131202.${op}`, JSON.stringify(body));
    send('CreateStream', { StreamName: 'clicks', ShardCount: 1 });
    session.advanceBy(10_000);
    for (let i = 0; i < 4; i += 1) send('PutRecord', { StreamName: 'clicks', PartitionKey: `u${i}`, Data: btoa(`click ${i}`) });
    const config = JSON.parse(
      session.createEventSourceMapping(
        JSON.stringify({
          FunctionName: 'tally',
          EventSourceArn: 'arn:aws:kinesis:us-east-1:123456789012:stream/clicks',
          StartingPosition: 'TRIM_HORIZON',
          BatchSize: 10,
        }),
      ),
    );
    const sandbox = new window.KinesimSandbox();
    // The first attempt loops forever; the retry (a fresh worker) decodes the records.
    const code = `async (event, context) => {
      if (context.attempt === 1) { for (;;) {} }
      return { got: event.Records.map((r) => atob(r.kinesis.data)) };
    }`;
    const outcomes = [];
    for (let round = 0; round < 6; round += 1) {
      session.advanceBy(1_000);
      for (let inv = session.pollInvocation(); inv; inv = session.pollInvocation()) {
        const outcome = await sandbox.invoke({
          code,
          eventJson: inv.eventJson,
          timeoutMs: 500,
          contextJson: JSON.stringify({ attempt: inv.attempt }),
        });
        outcomes.push({ attempt: inv.attempt, records: inv.recordCount, function: inv.functionName, ...outcome });
        session.completeInvocation(inv.mappingUuid, inv.id, outcome);
      }
    }
    const [mapping] = JSON.parse(session.listEventSourceMappings()).EventSourceMappings;
    return { uuid: config.UUID, outcomes, mapping };
  });
  assert.match(out.uuid, /^[0-9a-f-]{36}$/);
  assert.equal(out.outcomes.length, 2, JSON.stringify(out.outcomes));
  assert.deepEqual(
    out.outcomes.map((o) => [o.attempt, o.records, o.function, o.ok, o.errorType ?? null]),
    [
      [1, 4, 'tally', false, 'Sandbox.Timedout'],
      [2, 4, 'tally', true, null],
    ],
  );
  assert.deepEqual(JSON.parse(out.outcomes[1].resultJson), { got: ['click 0', 'click 1', 'click 2', 'click 3'] });
  assert.equal(out.mapping.Stats.timeouts, 1);
  assert.equal(out.mapping.Stats.records_succeeded, 4);
  assert.equal(out.mapping.LastProcessingResult, 'OK');
});

test('no console errors, failed requests or page errors', () => {
  assert.deepEqual(site.problems, []);
});
