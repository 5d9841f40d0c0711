// Bundles the real AWS SDK for JavaScript v3 clients (Kinesis and Firehose, from npm) for the browser with esbuild:
// www/generated/aws-sdk.js, a classic script that sets `globalThis.KinesimAwsSdk` to
// `{ kinesis: <@aws-sdk/client-kinesis>, firehose: <@aws-sdk/client-firehose> }`.
// The playground loads it on demand and the end-to-end tests use it. Generated, not committed: .ci/setup and
// Trunk's pre-build hook run this script; it does nothing when the bundle is newer than package-lock.json.
// Run: node www/build-sdk.mjs [--force]
import { build } from 'esbuild';
import { stat, mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = resolve(ROOT, 'www/generated/aws-sdk.js');
const LOCK = resolve(ROOT, 'package-lock.json');
const SELF = resolve(ROOT, 'www/build-sdk.mjs');

async function mtime(path) {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return 0;
  }
}

const force = process.argv.includes('--force');
const outTime = await mtime(OUT);
if (!force && outTime > 0 && outTime >= (await mtime(LOCK)) && outTime >= (await mtime(SELF))) {
  process.exit(0);
}

await mkdir(resolve(ROOT, 'www/generated'), { recursive: true });
const entry = `
export * as kinesis from '@aws-sdk/client-kinesis';
export * as firehose from '@aws-sdk/client-firehose';
`;
const result = await build({
  stdin: { contents: entry, resolveDir: ROOT, loader: 'js' },
  bundle: true,
  minify: true,
  format: 'iife',
  globalName: 'KinesimAwsSdk',
  platform: 'browser',
  target: 'es2022',
  outfile: OUT,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});
const bytes = Object.values(result.metafile.outputs)[0]?.bytes ?? 0;
console.log(`[build-sdk] www/generated/aws-sdk.js: ${(bytes / 1024).toFixed(0)} KiB`);
