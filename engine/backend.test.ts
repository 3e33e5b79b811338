import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseBackend, parseBackendName, type BackendLoader } from './backend';
import { type GpuAdapterSummary, summariseAdapter } from './webgpu-adapter';

const LIMITS = {
  maxBufferSize: 2 ** 32,
  maxStorageBufferBindingSize: 2 ** 31,
  maxComputeWorkgroupStorageSize: 32768,
  maxComputeInvocationsPerWorkgroup: 1024,
  maxComputeWorkgroupSizeX: 1024,
  maxComputeWorkgroupsPerDimension: 65535,
};
const HARDWARE = summariseAdapter({
  info: { vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H100 80GB HBM3' },
  limits: LIMITS,
});
const LAVAPIPE = summariseAdapter({
  info: {
    vendor: 'mesa',
    architecture: 'software',
    device: 'llvmpipe-llvm-15-0-6-256-bits-',
    description: 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1',
  },
  limits: LIMITS,
});

/** A loader whose packages, backends and GPU adapter succeed or fail as listed, recording every call in order. */
function fakeLoader(available: {
  packages: string[];
  backends: string[];
  adapter?: GpuAdapterSummary;
}): BackendLoader & { calls: string[] } {
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
    async openGpuAdapter() {
      calls.push('open gpu');
      if (available.adapter === undefined) throw new Error('requestAdapter() offered no adapter');
      return available.adapter;
    },
    releaseGpu() {
      calls.push('release gpu');
    },
  };
}

const WEBGPU_PACKAGE = '@tensorflow/tfjs-backend-webgpu';

const silent = () => {};

describe('parseBackendName', () => {
  it('accepts the five names, case and whitespace insensitive', () => {
    assert.equal(parseBackendName('tensorflow-gpu'), 'tensorflow-gpu');
    assert.equal(parseBackendName('WebGPU'), 'webgpu');
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
      /ENGRAM_BACKEND: unknown backend "webgl"; expected one of tensorflow-gpu, webgpu, tensorflow, wasm, cpu/,
    );
  });
});

describe('chooseBackend', () => {
  it('falls back tfjs-node-gpu → webgpu → tfjs-node → wasm → cpu when nothing is named', async () => {
    const loader = fakeLoader({ packages: ['@tensorflow/tfjs-backend-wasm'], backends: ['wasm', 'cpu'] });
    const lines: string[] = [];
    const choice = await chooseBackend({ env: {}, loader, log: (l) => lines.push(l) });
    assert.equal(choice.name, 'wasm');
    assert.equal(choice.source, 'auto');
    assert.deepEqual(
      choice.skipped.map((s) => s.name),
      ['tensorflow-gpu', 'webgpu', 'tensorflow'],
    );
    assert.match(choice.skipped[0].reason, /@tensorflow\/tfjs-node-gpu could not be loaded: Cannot find module/);
    assert.doesNotMatch(choice.skipped[0].reason, /Require stack/);
    assert.match(choice.skipped[1].reason, /no WebGPU adapter: requestAdapter\(\) offered no adapter/);
    assert.equal(choice.adapter, undefined);
    assert.deepEqual(loader.calls, [
      'load @tensorflow/tfjs-node-gpu',
      'open gpu',
      'release gpu',
      'load @tensorflow/tfjs-node',
      'load @tensorflow/tfjs-backend-wasm',
      'activate wasm',
    ]);
    assert.deepEqual(lines, ['[engram] tfjs backend: wasm (skipped tensorflow-gpu, webgpu, tensorflow)']);
  });

  it('picks webgpu automatically on a hardware adapter, after tfjs-node-gpu, and prints the adapter', async () => {
    const loader = fakeLoader({
      packages: [WEBGPU_PACKAGE, '@tensorflow/tfjs-node', '@tensorflow/tfjs-backend-wasm'],
      backends: ['webgpu', 'tensorflow', 'wasm', 'cpu'],
      adapter: HARDWARE,
    });
    const lines: string[] = [];
    const choice = await chooseBackend({ env: {}, loader, log: (l) => lines.push(l) });
    assert.equal(choice.name, 'webgpu');
    assert.equal(choice.tfjsBackend, 'webgpu');
    assert.deepEqual(choice.adapter, HARDWARE);
    // The adapter is opened before the tfjs backend package is loaded: it checks navigator.gpu on import.
    assert.deepEqual(loader.calls, [
      'load @tensorflow/tfjs-node-gpu',
      'open gpu',
      `load ${WEBGPU_PACKAGE}`,
      'activate webgpu',
    ]);
    assert.equal(lines.length, 1);
    assert.match(lines[0], /^\[engram\] tfjs backend: webgpu \(skipped tensorflow-gpu\); adapter: nvidia hopper/);
    assert.match(lines[0], /max buffer 4096 MiB, storage binding 2048 MiB, workgroup 1024 invocations/);
    assert.doesNotMatch(lines[0], /software/);
  });

  it('never picks a software adapter automatically, and releases it', async () => {
    const loader = fakeLoader({
      packages: [WEBGPU_PACKAGE, '@tensorflow/tfjs-backend-wasm'],
      backends: ['webgpu', 'wasm', 'cpu'],
      adapter: LAVAPIPE,
    });
    const choice = await chooseBackend({ env: {}, loader, log: silent });
    assert.equal(choice.name, 'wasm');
    assert.match(choice.skipped[1].reason, /software .*llvmpipe.*set ENGRAM_BACKEND=webgpu to use it/);
    assert.ok(!loader.calls.includes(`load ${WEBGPU_PACKAGE}`), 'the tfjs webgpu backend is not even loaded');
    assert.deepEqual(loader.calls.slice(1, 3), ['open gpu', 'release gpu']);
  });

  it('takes a software adapter when ENGRAM_BACKEND=webgpu names it', async () => {
    const loader = fakeLoader({ packages: [WEBGPU_PACKAGE], backends: ['webgpu', 'cpu'], adapter: LAVAPIPE });
    const lines: string[] = [];
    const choice = await chooseBackend({ env: { ENGRAM_BACKEND: 'webgpu' }, loader, log: (l) => lines.push(l) });
    assert.equal(choice.name, 'webgpu');
    assert.equal(choice.adapter?.software, true);
    assert.deepEqual(loader.calls, ['open gpu', `load ${WEBGPU_PACKAGE}`, 'activate webgpu']);
    assert.match(lines[0], /webgpu \(from ENGRAM_BACKEND\); adapter: mesa software \(llvmpipe: Mesa 25/);
  });

  it('ENGRAM_BACKEND=webgpu without an adapter throws, saying why, and releases', async () => {
    const loader = fakeLoader({ packages: [WEBGPU_PACKAGE], backends: ['webgpu', 'cpu'] });
    await assert.rejects(
      chooseBackend({ env: { ENGRAM_BACKEND: 'webgpu' }, loader, log: silent }),
      /ENGRAM_BACKEND=webgpu: no WebGPU adapter: requestAdapter\(\) offered no adapter/,
    );
    assert.deepEqual(loader.calls, ['open gpu', 'release gpu']);
  });

  it('releases the adapter when the tfjs webgpu backend fails to initialise', async () => {
    const loader = fakeLoader({ packages: [WEBGPU_PACKAGE], backends: ['cpu'], adapter: HARDWARE });
    await assert.rejects(
      chooseBackend({ env: { ENGRAM_BACKEND: 'webgpu' }, loader, log: silent }),
      /ENGRAM_BACKEND=webgpu: tfjs backend 'webgpu' failed to initialise/,
    );
    assert.equal(loader.calls.at(-1), 'release gpu');
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
    assert.match(choice.skipped[3].reason, /tfjs backend 'wasm' failed to initialise/);
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

describe('summariseAdapter', () => {
  it('marks lavapipe, SwiftShader and fallback adapters as software, and a hardware GPU as not', () => {
    assert.equal(LAVAPIPE.software, true);
    assert.equal(HARDWARE.software, false);
    const swiftShader = summariseAdapter({
      info: { vendor: 'google', architecture: '', device: 'swiftshader-device', description: 'SwiftShader Device' },
      limits: LIMITS,
    });
    assert.equal(swiftShader.software, true);
    const fallback = summariseAdapter({ info: { vendor: 'x', isFallbackAdapter: true }, limits: LIMITS });
    assert.equal(fallback.software, true);
    const legacyFallback = summariseAdapter({ info: { vendor: 'x' }, limits: LIMITS, isFallbackAdapter: true });
    assert.equal(legacyFallback.software, true);
  });
  it('keeps the reported limits and reads a missing one as 0', () => {
    const summary = summariseAdapter({ info: {}, limits: { maxBufferSize: 1024 } });
    assert.equal(summary.limits.maxBufferSize, 1024);
    assert.equal(summary.limits.maxComputeWorkgroupSizeX, 0);
    assert.equal(summary.vendor, '');
  });
});
