// kinesim's request handler for the AWS SDK for JavaScript v3 in the browser.
//
// An unmodified `@aws-sdk/client-kinesis` (or `@aws-sdk/client-firehose`) client takes it as its `requestHandler`;
// every call then goes to the in-page simulator instead of the network. It reads the operation from the
// `x-amz-target` header (never the host, which differs by operation) and the JSON body, calls
// `session.send(target, body)` (the wasm `Session` class, `window.kinesim.Session`) and hands the SDK an HTTP
// response `{ statusCode, headers, body }` with the body as bytes, which the SDK parses as it parses AWS's answer:
// outputs, and errors as the SDK's own error classes (ResourceNotFoundException, ...).
//
//   const session = kinesim.pageSession();            // the app's saved session; or: new kinesim.Session(7)
//   const client = new KinesisClient({
//     region: 'us-east-1',
//     credentials: { accessKeyId: 'any', secretAccessKey: 'any' },
//     requestHandler: new KinesimRequestHandler(session),
//     maxAttempts: 1,                                    // no SDK retries: throttling errors reach your code
//   });
//
// A classic script: it defines `globalThis.KinesimRequestHandler`. It has no imports and no dependencies.
// SubscribeToShard works too: its answer's body is a ReadableStream of AWS event-stream messages (the
// `initial-response`, then one `SubscribeToShardEvent` per push) that grows as simulated time passes; the handler
// polls the session every `pollIntervalMs` real milliseconds (default 50) and closes the stream when the
// subscription ends (after 5 simulated minutes, at a shard's end, or with the exception that ended it).
(function () {
  'use strict';

  const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';

  /** Decodes a request body (string, bytes, or nothing) to text. */
  function bodyText(body) {
    if (body === undefined || body === null) return '';
    if (typeof body === 'string') return body;
    if (body instanceof Uint8Array) return new TextDecoder().decode(body);
    if (body instanceof ArrayBuffer) return new TextDecoder().decode(new Uint8Array(body));
    if (ArrayBuffer.isView(body)) {
      return new TextDecoder().decode(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
    }
    throw new TypeError(
      'KinesimRequestHandler: the request body must be a string or bytes; streaming request bodies are not supported',
    );
  }

  /** Finds a header case-insensitively (the SDK writes them lower-case, but users may not). */
  function header(headers, name) {
    const wanted = name.toLowerCase();
    for (const key of Object.keys(headers ?? {})) {
      if (key.toLowerCase() === wanted) return headers[key];
    }
    return undefined;
  }

  // AWS event-stream encoding (application/vnd.amazon.eventstream): prelude (total length, headers length, CRC32),
  // string headers, payload, message CRC32; big-endian.
  const CRC32_TABLE = (() => {
    const table = new Uint32Array(256);
    for (let i = 0; i < 256; i += 1) {
      let c = i;
      for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[i] = c >>> 0;
    }
    return table;
  })();

  function crc32(bytes) {
    let crc = 0xffffffff;
    for (const b of bytes) crc = CRC32_TABLE[(crc ^ b) & 0xff] ^ (crc >>> 8);
    return (crc ^ 0xffffffff) >>> 0;
  }

  const HEADER_TYPE_STRING = 7;

  function encodeMessage(headers, payload) {
    const enc = new TextEncoder();
    const parts = [];
    for (const [name, value] of headers) {
      const n = enc.encode(name);
      const v = enc.encode(value);
      const h = new Uint8Array(1 + n.length + 1 + 2 + v.length);
      h[0] = n.length;
      h.set(n, 1);
      h[1 + n.length] = HEADER_TYPE_STRING;
      new DataView(h.buffer).setUint16(2 + n.length, v.length);
      h.set(v, 4 + n.length);
      parts.push(h);
    }
    const headersLength = parts.reduce((sum, p) => sum + p.length, 0);
    const total = 12 + headersLength + payload.length + 4;
    const message = new Uint8Array(total);
    const view = new DataView(message.buffer);
    view.setUint32(0, total);
    view.setUint32(4, headersLength);
    view.setUint32(8, crc32(message.subarray(0, 8)));
    let at = 12;
    for (const p of parts) {
      message.set(p, at);
      at += p.length;
    }
    message.set(payload, at);
    view.setUint32(total - 4, crc32(message.subarray(0, total - 4)));
    return message;
  }

  function eventMessage(eventType, json) {
    return encodeMessage(
      [[':message-type', 'event'], [':event-type', eventType], [':content-type', 'application/json']],
      new TextEncoder().encode(json),
    );
  }

  function exceptionMessage(exceptionType, message) {
    return encodeMessage(
      [[':message-type', 'exception'], [':exception-type', exceptionType], [':content-type', 'application/json']],
      new TextEncoder().encode(JSON.stringify({ message })),
    );
  }

  /** The event stream of subscription `id`: polls the session until the subscription ends. */
  function subscriptionBody(session, id, pollIntervalMs, abortSignal) {
    let timer = null;
    let stopped = false;
    return new ReadableStream({
      start(controller) {
        controller.enqueue(eventMessage('initial-response', '{}'));
      },
      pull(controller) {
        return new Promise((resolve) => {
          const poll = () => {
            timer = null;
            if (stopped) return resolve();
            if (abortSignal?.aborted) {
              controller.error(abortError());
              return resolve();
            }
            let polled;
            try {
              polled = session.subscriptionEvents(id);
            } catch (error) {
              controller.error(error);
              return resolve();
            }
            for (const event of polled.events) controller.enqueue(eventMessage('SubscribeToShardEvent', event));
            if (polled.end !== null) {
              if (polled.end !== 'Expired' && polled.end !== 'ShardEnd') {
                controller.enqueue(exceptionMessage(polled.end, polled.message ?? ''));
              }
              controller.close();
              return resolve();
            }
            if (polled.events.length > 0) return resolve();
            timer = setTimeout(poll, pollIntervalMs);
          };
          poll();
        });
      },
      cancel() {
        stopped = true;
        if (timer !== null) clearTimeout(timer);
      },
    });
  }

  function abortError() {
    const error = new Error('Request aborted');
    error.name = 'AbortError';
    return error;
  }

  class KinesimRequestHandler {
    /**
     * @param session the simulator to answer from: a `kinesim.Session`, or anything with
     *   `send(target: string, body: string) -> { statusCode, body, errorType }`.
     * @param options `{ pollIntervalMs }`: how often (real ms) a SubscribeToShard stream asks for new events.
     */
    constructor(session, options = {}) {
      if (!session || typeof session.send !== 'function') {
        throw new TypeError('KinesimRequestHandler: give it a session, e.g. new KinesimRequestHandler(kinesim.pageSession())');
      }
      this.session = session;
      this.pollIntervalMs = options.pollIntervalMs ?? 50;
      this.requestCount = 0;
      this.metadata = { handlerProtocol: 'kinesim' };
    }

    /** The SDK's HttpHandler contract: one request in, `{ response }` out. */
    async handle(request, options = {}) {
      if (options.abortSignal?.aborted) throw abortError();
      const target = header(request.headers, 'x-amz-target');
      if (!target) {
        throw new Error(
          'KinesimRequestHandler: the request has no x-amz-target header; kinesim answers the AWS JSON 1.1 ' +
            'protocol (Kinesis, Firehose) only',
        );
      }
      // On the app's page session `sendCommitted` resolves once the call's journal entry is stored in IndexedDB
      // (and rejects, failing the SDK call, when that commit fails); other sessions answer at once.
      const text = bodyText(request.body);
      const answer =
        typeof this.session.sendCommitted === 'function'
          ? await this.session.sendCommitted(target, text)
          : this.session.send(target, text);
      this.requestCount += 1;
      if (answer.subscription !== undefined && answer.statusCode === 200) {
        return {
          response: {
            statusCode: 200,
            headers: {
              'content-type': 'application/vnd.amazon.eventstream',
              'x-amzn-requestid': `kinesim-${this.requestCount}`,
            },
            body: subscriptionBody(this.session, answer.subscription, this.pollIntervalMs, options.abortSignal),
          },
        };
      }
      const headers = {
        'content-type': JSON_CONTENT_TYPE,
        'x-amzn-requestid': `kinesim-${this.requestCount}`,
      };
      if (answer.errorType) headers['x-amzn-errortype'] = answer.errorType;
      const body = new TextEncoder().encode(answer.body);
      headers['content-length'] = String(body.byteLength);
      return { response: { statusCode: answer.statusCode, reason: undefined, headers, body } };
    }

    /** Part of the SDK's HttpHandler contract; the simulator has no HTTP client settings. */
    updateHttpClientConfig() {}

    /** Part of the SDK's HttpHandler contract. */
    httpHandlerConfigs() {
      return {};
    }

    /** Called by `client.destroy()`; nothing to release. */
    destroy() {}
  }

  KinesimRequestHandler.encodeMessage = encodeMessage;
  globalThis.KinesimRequestHandler = KinesimRequestHandler;
})();
