import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseBackend, parseBackendName, type BackendLoader } from './backend';

/** A loader whose packages and backends succeed or fail as listed, recording every call in order. */
function fakeLoader(available: { packages: string[]; backends: string[] }): BackendLoader & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    loadPackage(name) {
      calls.push(`load ${name}`);
      if (!available.packages.includes(name)) throw new Error(`Cannot find module '${name}'\nRequire stack: ...`);
    },
    async activate(name) {
      calls.push(`activate ${name}`);
      return available.backends.includes(name);
    },
  };
}

const silent = () => {};

describe('parseBackendName', () => {
  it('accepts the four names, case and whitespace insensitive', () => {
    assert.equal(parseBackendName('tensorflow-gpu'), 'tensorflow-gpu');
    assert.equal(parseBackendName(' TensorFlow '), 'tensorflow');
    assert.equal(parseBackendName('WASM'), 'wasm');
    assert.equal(parseBackendName('cpu'), 'cpu');
  });
  it('treats unset or empty as automatic', () => {
    assert.equal(parseBackendName(undefined), undefined);
    assert.equal(parseBackendName('  '), undefined);
  });
  it('rejects unknown names, naming the variable and value', () => {
    assert.throws(
      () => parseBackendName('webgl'),
      /ENGRAM_BACKEND: unknown backend "webgl"; expected one of tensorflow-gpu, tensorflow, wasm, cpu/,
    );
  });
});

describe('chooseBackend', () => {
  it('falls back tfjs-node-gpu → tfjs-node → wasm → cpu when nothing is named', async () => {
    const loader = fakeLoader({ packages: ['@tensorflow/tfjs-backend-wasm'], backends: ['wasm', 'cpu'] });
    const lines: string[] = [];
    const choice = await chooseBackend({ env: {}, loader, log: (l) => lines.push(l) });
    assert.equal(choice.name, 'wasm');
    assert.equal(choice.source, 'auto');
    assert.deepEqual(
      choice.skipped.map((s) => s.name),
      ['tensorflow-gpu', 'tensorflow'],
    );
    assert.match(choice.skipped[0].reason, /@tensorflow\/tfjs-node-gpu could not be loaded: Cannot find module/);
    assert.doesNotMatch(choice.skipped[0].reason, /Require stack/);
    assert.deepEqual(loader.calls, [
      'load @tensorflow/tfjs-node-gpu',
      'load @tensorflow/tfjs-node',
      'load @tensorflow/tfjs-backend-wasm',
      'activate wasm',
    ]);
    assert.deepEqual(lines, ['[engram] tfjs backend: wasm (skipped tensorflow-gpu, tensorflow)']);
  });

  it('prefers the native binding when it is installed', async () => {
    const loader = fakeLoader({
      packages: ['@tensorflow/tfjs-node', '@tensorflow/tfjs-backend-wasm'],
      backends: ['tensorflow', 'wasm', 'cpu'],
    });
    const choice = await chooseBackend({ env: {}, loader, log: silent });
    assert.equal(choice.name, 'tensorflow');
    assert.equal(choice.tfjsBackend, 'tensorflow');
  });

  it('reaches cpu when wasm fails to initialise', async () => {
    const loader = fakeLoader({ packages: ['@tensorflow/tfjs-backend-wasm'], backends: ['cpu'] });
    const choice = await chooseBackend({ env: {}, loader, log: silent });
    assert.equal(choice.name, 'cpu');
    assert.match(choice.skipped[2].reason, /tfjs backend 'wasm' failed to initialise/);
  });

  it('uses ENGRAM_BACKEND without trying others', async () => {
    const loader = fakeLoader({ packages: ['@tensorflow/tfjs-backend-wasm'], backends: ['wasm', 'cpu'] });
    const choice = await chooseBackend({ env: { ENGRAM_BACKEND: 'cpu' }, loader, log: silent });
    assert.equal(choice.name, 'cpu');
    assert.equal(choice.source, 'env');
    assert.deepEqual(loader.calls, ['activate cpu']);
  });

  it('throws, saying why, when the named backend cannot load (no silent fallback)', async () => {
    const loader = fakeLoader({ packages: ['@tensorflow/tfjs-backend-wasm'], backends: ['wasm', 'cpu'] });
    await assert.rejects(
      chooseBackend({ env: { ENGRAM_BACKEND: 'tensorflow' }, loader, log: silent }),
      new RegExp(
        'ENGRAM_BACKEND=tensorflow: @tensorflow/tfjs-node could not be loaded: ' +
          "Cannot find module '@tensorflow/tfjs-node'",
      ),
    );
    assert.deepEqual(loader.calls, ['load @tensorflow/tfjs-node']);
  });

  it('throws when a named backend loads but does not initialise', async () => {
    const loader = fakeLoader({ packages: ['@tensorflow/tfjs-backend-wasm'], backends: ['cpu'] });
    await assert.rejects(
      chooseBackend({ env: { ENGRAM_BACKEND: 'wasm' }, loader, log: silent }),
      /ENGRAM_BACKEND=wasm: tfjs backend 'wasm' failed to initialise/,
    );
  });

  it('rejects an unknown ENGRAM_BACKEND before loading anything', async () => {
    const loader = fakeLoader({ packages: [], backends: ['cpu'] });
    await assert.rejects(
      chooseBackend({ env: { ENGRAM_BACKEND: 'gpu' }, loader, log: silent }),
      /unknown backend "gpu"/,
    );
    assert.deepEqual(loader.calls, []);
  });

  it('activates a real backend with the default loader', async () => {
    const choice = await chooseBackend({ env: { ENGRAM_BACKEND: 'cpu' }, log: silent });
    const tf = await import('@tensorflow/tfjs');
    assert.equal(choice.name, 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
  });
});
