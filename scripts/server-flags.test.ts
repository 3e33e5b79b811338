// `npm run dev` and `npm start` give the server the same node flags, and those hold V8's old-space floor: without
// it the server's ~10 MB heap gets an allocation limit so small that the ArrayBuffers of a 1.3 MB Visdom body (the
// socket's read chunks, which V8 counts against that limit until a scavenge frees them) set off a full collection
// every ~20 calls (docs/visdom.md#speed). The benchmarks start their servers with the dev script's flags.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const root = resolve(__dirname, '..');
const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
  .scripts;

/** The node flags a script passes through tsx to `server/main.ts`. */
function serverFlags(script: string): string[] {
  const words = script.split(/\s+/);
  const tsx = words.indexOf('tsx');
  const entry = words.indexOf('server/main.ts');
  assert.ok(tsx >= 0 && entry > tsx, `expected "tsx [flags] server/main.ts", got "${script}"`);
  return words.slice(tsx + 1, entry);
}

test('npm run dev and npm start start the server with the same node flags', () => {
  assert.deepEqual(serverFlags(scripts.start), serverFlags(scripts.dev));
});

test('the server starts with an old space of at least 64 MB', () => {
  const flag = serverFlags(scripts.dev).find((f) => f.startsWith('--initial-old-space-size='));
  assert.ok(flag !== undefined, `npm run dev passes no --initial-old-space-size: "${scripts.dev}"`);
  assert.ok(Number(flag.split('=')[1]) >= 64, flag);
});
