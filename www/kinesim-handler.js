// kinesim's request handler for the AWS SDK for JavaScript v3 in the browser.
//
// An unmodified `@aws-sdk/client-kinesis` (or `@aws-sdk/client-firehose`) client takes it as its `requestHandler`;
// every call then goes to the in-page simulator instead of the network. It reads the operation from the
// `x-amz-target` header (never the host, which differs by operation) and the JSON body, calls
// `session.send(target, body)` (the wasm `Session` class, `window.kinesim.Session`) and hands the SDK an HTTP
// response `{ statusCode, headers, body }` with the body as bytes, which the SDK parses as it parses AWS's answer:
// outputs, and errors as the SDK's own error classes (ResourceNotFoundException, ...).
//
//   const session = kinesim.pageSession();            // or: new kinesim.Session(7)
//   const client = new KinesisClient({
//     region: 'us-east-1',
//     credentials: { accessKeyId: 'any', secretAccessKey: 'any' },
//     requestHandler: new KinesimRequestHandler(session),
//     maxAttempts: 1,                                    // no SDK retries: throttling errors reach your code
//   });
//
// A classic script: it defines `globalThis.KinesimRequestHandler`. It has no imports and no dependencies.
// SubscribeToShard is refused with a clear error: its answer is an AWS event stream the handler does not encode yet
// (see the README).
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

  function abortError() {
    const error = new Error('Request aborted');
    error.name = 'AbortError';
    return error;
  }

  class KinesimRequestHandler {
    /**
     * @param session the simulator to answer from: a `kinesim.Session`, or anything with
     *   `send(target: string, body: string) -> { statusCode, body, errorType }`.
     */
    constructor(session) {
      if (!session || typeof session.send !== 'function') {
        throw new TypeError('KinesimRequestHandler: give it a session, e.g. new KinesimRequestHandler(kinesim.pageSession())');
      }
      this.session = session;
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
      if (target.endsWith('.SubscribeToShard')) {
        throw new Error(
          'KinesimRequestHandler: SubscribeToShard is not supported in the browser handler yet (its answer is an ' +
            'AWS event stream); use GetRecords, or `kinesim serve` with boto3',
        );
      }
      const answer = this.session.send(target, bodyText(request.body));
      this.requestCount += 1;
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

  globalThis.KinesimRequestHandler = KinesimRequestHandler;
})();
