// The playground's runner: runs a user's AWS SDK v3 snippet against the page's simulated session.
//
// `kinesimPlayground.run(code)` loads the SDK bundle (generated/aws-sdk.js, built by www/build-sdk.mjs) on first
// use, then runs `code` as the body of an async function with these in scope:
//   kinesis, firehose        clients wired to the page session through KinesimRequestHandler (maxAttempts: 1)
//   PutRecordsCommand, ...   every @aws-sdk/client-kinesis export by its own name (commands, error classes)
//   Kinesis, Firehose        the two SDK modules (Firehose.PutRecordBatchCommand, ...)
//   session                  the page's kinesim Session (advanceBy, now, metrics, ...)
//   print(...values)         appends a line to the output
//   runInvocations(functions) runs the session's pending Lambda invocations in the isolated runner:
//                            functions maps FunctionName to code text, e.g. { tally: 'async (event) => ...' };
//                            resolves to how many ran
// It resolves to the output text: printed lines, then the returned value as JSON, or the error (its name, message
// and, for AWS errors, the HTTP status). It never rejects. The snippet runs in the page, like a browser console:
// it is the user's own code. (Functions the simulator invokes run isolated: see sandbox-runner.js.)
(function () {
  'use strict';

  let sdkLoading = null;

  function loadSdk() {
    if (globalThis.KinesimAwsSdk) return Promise.resolve(globalThis.KinesimAwsSdk);
    if (!sdkLoading) {
      sdkLoading = new Promise((resolve, reject) => {
        const script = document.createElement('script');
        script.src = new URL('generated/aws-sdk.js', document.baseURI).href;
        script.onload = () =>
          globalThis.KinesimAwsSdk ? resolve(globalThis.KinesimAwsSdk) : reject(new Error('the SDK bundle did not load'));
        script.onerror = () => {
          sdkLoading = null;
          reject(new Error('could not load generated/aws-sdk.js (run: node www/build-sdk.mjs, then rebuild)'));
        };
        document.head.appendChild(script);
      });
    }
    return sdkLoading;
  }

  function show(value) {
    if (typeof value === 'string') return value;
    if (value instanceof Uint8Array) return `Uint8Array(${value.length}) "${new TextDecoder().decode(value)}"`;
    try {
      return JSON.stringify(
        value,
        (_, v) => (v instanceof Uint8Array ? new TextDecoder().decode(v) : typeof v === 'bigint' ? v.toString() : v),
        2,
      );
    } catch {
      return String(value);
    }
  }

  /** Clients for `session` built from the bundled SDK, retries off so throttling errors are visible. */
  function clients(sdk, session) {
    const config = {
      region: 'us-east-1',
      credentials: { accessKeyId: 'kinesim', secretAccessKey: 'kinesim' },
      requestHandler: new globalThis.KinesimRequestHandler(session),
      maxAttempts: 1,
    };
    return {
      kinesis: new sdk.kinesis.KinesisClient(config),
      firehose: new sdk.firehose.FirehoseClient(config),
    };
  }

  let sandbox = null;

  /** Runs every pending event-source-mapping invocation of `session` isolated; returns how many ran. */
  async function runInvocations(session, functions, timeoutMs = 3_000) {
    sandbox ??= new globalThis.KinesimSandbox();
    let ran = 0;
    for (let inv = session.pollInvocation(); inv; inv = session.pollInvocation()) {
      const code = functions?.[inv.functionName];
      const outcome =
        typeof code === 'string'
          ? await sandbox.invoke({
              code,
              eventJson: inv.eventJson,
              timeoutMs,
              contextJson: JSON.stringify({ functionName: inv.functionName, attempt: inv.attempt }),
            })
          : { ok: false, errorType: 'ResourceNotFoundException', errorMessage: `Function not found: ${inv.functionName}` };
      session.completeInvocation(inv.mappingUuid, inv.id, outcome);
      ran += 1;
    }
    return ran;
  }

  async function run(code, session) {
    const lines = [];
    const print = (...values) => lines.push(values.map(show).join(' '));
    try {
      const sdk = await loadSdk();
      const target = session ?? globalThis.kinesim?.pageSession();
      if (!target) throw new Error('the simulator is not loaded yet');
      const { kinesis, firehose } = clients(sdk, target);
      const names = Object.keys(sdk.kinesis).filter((n) => /^[A-Za-z_$][\w$]*$/.test(n));
      const scope = {
        ...Object.fromEntries(names.map((n) => [n, sdk.kinesis[n]])),
        kinesis,
        firehose,
        Kinesis: sdk.kinesis,
        Firehose: sdk.firehose,
        session: target,
        print,
        runInvocations: (functions, timeoutMs) => runInvocations(target, functions, timeoutMs),
      };
      const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
      const fn = new AsyncFunction(...Object.keys(scope), code);
      const result = await fn(...Object.values(scope));
      if (result !== undefined) lines.push(show(result));
      if (lines.length === 0) lines.push('(done, nothing printed or returned)');
    } catch (error) {
      const name = error?.name ?? 'Error';
      const status = error?.$metadata?.httpStatusCode;
      lines.push(`${name}${status ? ` (HTTP ${status})` : ''}: ${error?.message ?? String(error)}`);
    }
    return lines.join('\n');
  }

  globalThis.kinesimPlayground = { run, loadSdk, clients, runInvocations };
})();
