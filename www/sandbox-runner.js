// kinesim's isolated function runner: user JavaScript `async (event, context) => result` in a dedicated Web Worker.
//
// The contract is generic (Lambda functions behind event-source mappings, Firehose transformation functions):
//
//   const sandbox = new KinesimSandbox();
//   const r = await sandbox.invoke({ code, eventJson, timeoutMs, contextJson });
//   // r: { ok: true,  resultJson, durationMs }
//   //  | { ok: false, errorType, errorMessage, timedOut, durationMs }
//
// Isolation: the code runs in a Worker made from a Blob, so it has no DOM, no `document`, no `window` and no page
// variables; before it runs, the worker removes its own network and storage entry points (fetch, XMLHttpRequest,
// WebSocket, importScripts, indexedDB, caches, BroadcastChannel, ...), so it cannot reach the page's origin either.
// Time limit: past `timeoutMs` (real milliseconds) the worker is terminated (an endless loop stops there; the page
// never waits on it) and the next invocation starts a fresh one. Errors come back as Lambda reports a function
// error: `{errorType, errorMessage}` (`Sandbox.Timedout` for a timeout). A worker is kept warm between invocations
// of the same code, as Lambda keeps an execution environment; new code gets a new worker.
//
// The time limit is real time, so whether a function that runs close to its limit times out depends on the
// machine: the simulation stays deterministic for functions well inside their limit.
// A classic script: it defines `globalThis.KinesimSandbox` and has no dependencies.
(function () {
  'use strict';

  /** Longest time limit accepted, in ms (Lambda's maximum function timeout: 900 s). */
  const TIMEOUT_MS_MAX = 900_000;
  /** Time limit when none is given, in ms (Lambda's default function timeout: 3 s). */
  const TIMEOUT_MS_DEFAULT = 3_000;
  /** Longest code accepted, in UTF-16 units (Lambda's inline code editor limit is 3 MB). */
  const CODE_LENGTH_MAX = 3 * 1024 * 1024;

  // Runs inside the worker. Kept as a function so it is real, checked JavaScript; sent as its source text.
  function workerMain() {
    const BLOCKED = [
      'fetch', 'XMLHttpRequest', 'WebSocket', 'WebTransport', 'EventSource', 'importScripts', 'indexedDB',
      'caches', 'BroadcastChannel', 'Worker', 'SharedWorker', 'navigator', 'location', 'FileReaderSync',
      'RTCPeerConnection', 'CookieStore', 'cookieStore', 'storageBuckets',
    ];
    for (const name of BLOCKED) {
      for (let o = self; o; o = Object.getPrototypeOf(o)) {
        try {
          if (Object.prototype.hasOwnProperty.call(o, name)) delete o[name];
        } catch (_) {
          // not configurable: shadowed below
        }
      }
      try {
        Object.defineProperty(self, name, { value: undefined, writable: false, configurable: false });
      } catch (_) {
        // already shadowed
      }
    }
    const post = self.postMessage.bind(self);
    let compiled = null; // { code, fn }
    let current = null; // id of the invocation running
    const fail = (id, error) => {
      const errorType = (error && typeof error === 'object' && typeof error.name === 'string' && error.name) || 'Error';
      const errorMessage = error && typeof error === 'object' && 'message' in error ? String(error.message) : String(error);
      post({ id, ok: false, errorType, errorMessage });
    };
    self.addEventListener('error', (e) => {
      if (current !== null) fail(current, e.error ?? { name: 'Error', message: e.message });
      e.preventDefault();
    });
    self.addEventListener('unhandledrejection', (e) => {
      if (current !== null) fail(current, e.reason);
      e.preventDefault();
    });
    self.onmessage = async (e) => {
      const { id, code, eventJson, contextJson } = e.data;
      current = id;
      let fn;
      try {
        if (!compiled || compiled.code !== code) {
          // Indirect eval: the code sees only the worker's (emptied) global scope.
          const value = (0, eval)('(' + code + '\n)');
          if (typeof value !== 'function') {
            throw new TypeError('The code must be a function expression such as async (event, context) => { return event; }');
          }
          compiled = { code, fn: value };
        }
        fn = compiled.fn;
      } catch (error) {
        fail(id, error);
        return;
      }
      let result;
      try {
        result = await fn(JSON.parse(eventJson), JSON.parse(contextJson));
      } catch (error) {
        fail(id, error);
        return;
      }
      let resultJson;
      try {
        resultJson = result === undefined ? 'null' : JSON.stringify(result);
        if (resultJson === undefined) resultJson = 'null';
      } catch (error) {
        fail(id, { name: 'Runtime.MarshalError', message: 'Unable to marshal response: ' + String(error && error.message) });
        return;
      }
      post({ id, ok: true, resultJson });
    };
  }

  const WORKER_SOURCE = '(' + workerMain.toString() + ')();';

  class KinesimSandbox {
    constructor() {
      this.worker = null;
      this.workerCode = null;
      this.nextId = 1;
      this.queue = Promise.resolve();
      this.workersStarted = 0;
    }

    /**
     * Runs `code` on the event, one invocation at a time (later calls wait their turn).
     * @param {{code: string, eventJson: string, timeoutMs?: number, contextJson?: string}} request
     * @returns {Promise<{ok: boolean, resultJson?: string, errorType?: string, errorMessage?: string, timedOut?: boolean, durationMs: number}>}
     */
    invoke(request) {
      const run = this.queue.then(() => this.runOne(request));
      this.queue = run.catch(() => {});
      return run;
    }

    async runOne({ code, eventJson, timeoutMs = TIMEOUT_MS_DEFAULT, contextJson = '{}' }) {
      const started = performance.now();
      const refuse = (message) => ({ ok: false, errorType: 'InvalidParameterValueException', errorMessage: message, timedOut: false, durationMs: 0 });
      if (typeof code !== 'string' || code.trim() === '') return refuse('The function code is empty: write async (event, context) => { ... }');
      if (code.length > CODE_LENGTH_MAX) return refuse(`The function code is longer than ${CODE_LENGTH_MAX} characters`);
      if (typeof eventJson !== 'string') return refuse('The event must be JSON text');
      if (!Number.isFinite(timeoutMs) || timeoutMs < 1 || timeoutMs > TIMEOUT_MS_MAX) {
        return refuse(`The time limit must be from 1 to ${TIMEOUT_MS_MAX} ms; it is ${timeoutMs}`);
      }
      if (this.worker && this.workerCode !== code) this.reset();
      if (!this.worker) {
        const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
        try {
          this.worker = new Worker(url, { name: 'kinesim-function' });
        } finally {
          URL.revokeObjectURL(url);
        }
        this.workerCode = code;
        this.workersStarted += 1;
      }
      const worker = this.worker;
      const id = this.nextId++;
      return new Promise((resolve) => {
        const finish = (outcome) => {
          clearTimeout(timer);
          worker.removeEventListener('message', onMessage);
          worker.removeEventListener('error', onError);
          resolve({ ...outcome, durationMs: Math.round(performance.now() - started) });
        };
        const onMessage = (e) => {
          if (!e.data || e.data.id !== id) return;
          if (e.data.ok) finish({ ok: true, resultJson: String(e.data.resultJson) });
          else finish({ ok: false, errorType: String(e.data.errorType), errorMessage: String(e.data.errorMessage), timedOut: false });
        };
        const onError = (e) => {
          e.preventDefault();
          this.reset();
          finish({ ok: false, errorType: 'Runtime.ExitError', errorMessage: String(e.message || 'the worker failed'), timedOut: false });
        };
        const timer = setTimeout(() => {
          if (this.worker === worker) this.reset();
          else worker.terminate();
          finish({
            ok: false,
            errorType: 'Sandbox.Timedout',
            errorMessage: `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
            timedOut: true,
          });
        }, timeoutMs);
        worker.addEventListener('message', onMessage);
        worker.addEventListener('error', onError);
        worker.postMessage({ id, code, eventJson, contextJson });
      });
    }

    /** Terminates the worker; the next invocation starts a fresh one. */
    reset() {
      if (this.worker) this.worker.terminate();
      this.worker = null;
      this.workerCode = null;
    }
  }

  KinesimSandbox.TIMEOUT_MS_MAX = TIMEOUT_MS_MAX;
  KinesimSandbox.TIMEOUT_MS_DEFAULT = TIMEOUT_MS_DEFAULT;
  globalThis.KinesimSandbox = KinesimSandbox;
})();
