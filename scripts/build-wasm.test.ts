// The committed WebAssembly binaries (generated TypeScript files) are what `npm run build:wasm` makes from their WAT
// sources today: editing a .wat without rebuilding, or editing the generated file by hand, fails here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { committedGeneratedText, expectedGeneratedText, WASM_MODULES } from './build-wasm';

for (const spec of WASM_MODULES) {
  test(`${spec.generated} is the assembled ${spec.source} (run npm run build:wasm)`, async () => {
    const expected = await expectedGeneratedText(spec);
    assert.ok(committedGeneratedText(spec) === expected, `${spec.generated} is stale: run npm run build:wasm`);
  });
}

/** The export names of a module as assembled from its current source. */
async function assembledExports(spec: (typeof WASM_MODULES)[number]): Promise<string[]> {
  const text = await expectedGeneratedText(spec);
  const base64 = [...text.matchAll(/'([A-Za-z0-9+/=]+)'/g)].map((match) => match[1]).join('');
  const module = new WebAssembly.Module(Buffer.from(base64, 'base64'));
  return WebAssembly.Module.exports(module)
    .map((entry) => entry.name)
    .sort();
}

test('the assembled link pass validates and exports the link pass', async () => {
  assert.deepEqual(await assembledExports(WASM_MODULES[0]), ['linkBackward', 'linkForward', 'memory']);
});

test('the assembled memory-row module validates and exports its row loops', async () => {
  assert.deepEqual(await assembledExports(WASM_MODULES[1]), [
    'contentBackward',
    'eraseWrite',
    'eraseWriteBackward',
    'memory',
    'readVectors',
    'readVectorsBackward',
    'rowDots',
  ]);
});

test('the assembled LSTM cell validates and exports its forward and backward', async () => {
  assert.deepEqual(await assembledExports(WASM_MODULES[2]), ['cellBackward', 'cellForward', 'memory']);
});
