/**
 * The wasm backend's copy-free Identity, Slice and SplitV must give exactly what tfjs's own kernels give, for every
 * rank, dtype and box, keep a clone alive after its source is disposed, and free the shared memory with the last
 * reference.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { originalWasmKernel, prepareWasmBackend, restoreWasmKernels } from './wasm-kernels';

interface BackendCounts {
  numDataIds(): number;
}

function backendDataIds(): number {
  return (tf.backend() as unknown as BackendCounts).numDataIds();
}

before(async () => {
  assert.ok(await tf.setBackend('wasm'), 'wasm backend initialises');
  prepareWasmBackend({});
});

after(() => restoreWasmKernels());

/** A deterministic tensor of the given shape and dtype with distinct entries. */
function filled(shape: number[], dtype: 'float32' | 'int32' | 'bool'): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const index = Array.from({ length: size }, (_, i) => i);
  if (dtype === 'bool')
    return tf.tensor(
      index.map((i) => (i * 7) % 3 === 0),
      shape,
      'bool',
    );
  return tf.tensor(
    index.map((i) => (dtype === 'int32' ? 2 * i - 3 : i * 1.5 - 3)),
    shape,
    dtype,
  );
}

/** Run a replaced kernel's original on the same inputs and read its outputs. */
function viaOriginal(name: 'Slice' | 'SplitV', x: tf.Tensor, attrs: Record<string, unknown>): number[][] {
  const original = originalWasmKernel(name);
  assert.ok(original, `${name} was replaced`);
  const result = original({ inputs: { x }, attrs: attrs as tf.NamedAttrMap, backend: tf.backend() });
  const infos = Array.isArray(result) ? result : [result];
  return infos.map((info) => {
    const tensor = tf.engine().makeTensorFromTensorInfo(info);
    const values = Array.from(tensor.dataSync(), Number);
    tensor.dispose();
    return values;
  });
}

test('Slice equals tfjs-wasm own Slice for contiguous and strided boxes, ranks 1–5, float32/int32/bool', () => {
  const cases: [number[], number[], number[]][] = [
    [[10], [3], [5]],
    [
      [4, 6],
      [1, 0],
      [2, 6],
    ], // whole rows: contiguous
    [
      [4, 6],
      [1, 2],
      [3, 3],
    ], // strided, short runs
    [
      [4, 40],
      [0, 5],
      [4, 20],
    ], // strided, runs ≥ 16 use set()
    [
      [3, 4, 5],
      [1, 1, 2],
      [2, 2, -1],
    ],
    [
      [2, 3, 4, 5],
      [0, 1, 0, 1],
      [2, 2, 4, 3],
    ],
    [
      [2, 2, 3, 2, 3],
      [1, 0, 1, 0, 1],
      [1, 2, 2, 2, 2],
    ],
    [
      [5, 3],
      [2, 0],
      [0, 3],
    ], // empty
  ];
  for (const dtype of ['float32', 'int32', 'bool'] as const) {
    for (const [shape, begin, size] of cases) {
      const x = filled(shape, dtype);
      const sliced = tf.slice(x, begin, size);
      const [expected] = viaOriginal('Slice', x, { begin, size });
      assert.deepEqual(Array.from(sliced.dataSync(), Number), expected, `${dtype} [${shape}] from [${begin}]`);
      assert.equal(sliced.dtype, dtype);
      tf.dispose([x, sliced]);
    }
  }
});

test('SplitV equals tfjs-wasm own SplitV along every axis, with uneven and inferred sizes', () => {
  const cases: [number[], number | number[], number][] = [
    [[12], [5, 7], 0],
    [[6, 4], 3, 0],
    [[6, 4], [1, -1, 2], 1],
    [[3, 5, 4], [2, 3], 1],
    [[3, 5, 4], 2, 2],
  ];
  for (const [shape, numOrSizeSplits, axis] of cases) {
    const x = filled(shape, 'float32');
    const pieces = tf.split(x, numOrSizeSplits, axis);
    const expected = viaOriginal('SplitV', x, { numOrSizeSplits, axis });
    assert.deepEqual(
      pieces.map((p) => Array.from(p.dataSync())),
      expected,
      `[${shape}] split ${JSON.stringify(numOrSizeSplits)} on axis ${axis}`,
    );
    tf.dispose([x, ...pieces]);
  }
});

test('Identity shares memory: a clone allocates nothing, outlives its source, and the last dispose frees it', () => {
  const baseline = backendDataIds();
  const source = filled([3, 4], 'float32');
  const expected = Array.from(source.dataSync());
  const clone = tf.clone(source);
  assert.equal(backendDataIds(), baseline + 1, 'the clone adds no backend buffer');
  source.dispose();
  assert.deepEqual(Array.from(clone.dataSync()), expected, 'the clone still reads the values');
  // New tensors must not reuse the clone's memory while it lives.
  const other = tf.fill([3, 4], 9);
  assert.deepEqual(Array.from(clone.dataSync()), expected);
  tf.dispose([clone, other]);
  assert.equal(backendDataIds(), baseline, 'the shared buffer is freed with the last reference');
});

test('gradients through tape-saved (shared) tensors and through split are unchanged', () => {
  const x = tf.tensor2d([0.3, -1.2, 2.0, 0.7, -0.4, 1.1], [2, 3]);
  const before = tf.memory().numTensors;
  const gradient = tf.grad((input: tf.Tensor) => {
    const [left, right] = tf.split(input, [1, 2], 1);
    return tf.sum(tf.mul(tf.sigmoid(left), tf.tanh(tf.mul(right, right))));
  })(x);
  // d/dx of Σ σ(a)·tanh(b²) with a = column 0, b = columns 1–2, by hand.
  const values = x.arraySync() as number[][];
  const expected = values.map((row) => {
    const sig = 1 / (1 + Math.exp(-row[0]));
    const t1 = Math.tanh(row[1] ** 2);
    const t2 = Math.tanh(row[2] ** 2);
    return [sig * (1 - sig) * (t1 + t2), sig * (1 - t1 * t1) * 2 * row[1], sig * (1 - t2 * t2) * 2 * row[2]];
  });
  const got = gradient.arraySync() as number[][];
  got.forEach((row, r) => {
    row.forEach((value, c) => assert.ok(Math.abs(value - expected[r][c]) < 1e-6, `[${r}, ${c}] ${value}`));
  });
  gradient.dispose();
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  x.dispose();
});

test('ENGRAM_WASM_KERNELS=off leaves tfjs kernels in place; restore puts the originals back', () => {
  restoreWasmKernels();
  prepareWasmBackend({ ENGRAM_WASM_KERNELS: 'off' });
  assert.equal(originalWasmKernel('Identity'), undefined);
  const baseline = backendDataIds();
  const source = filled([2, 2], 'float32');
  const clone = tf.clone(source);
  assert.equal(backendDataIds(), baseline + 2, "tfjs's own Identity copies");
  tf.dispose([source, clone]);
  prepareWasmBackend({});
  assert.ok(originalWasmKernel('Identity'));
});
