/**
 * The fused step split over two threads gives bit-for-bit the one-thread result: the packed forward output, the
 * debug tape's first rows and every input gradient, for an even and an odd batch, with the SIMD link pass on and
 * off (the worker takes the caller's mode), and through the tfjs op (`fusedMemoryStep`) with its gradients.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { runDenseStep } from './batch-split';
import { recordSplit, resetSplitRecords, setKernelThreads, splitPays, splitRecord } from './batch-split-policy';
import { kernelWorkerReady, kernelWorkerReplies, stopKernelWorker } from './batch-split-port';
import {
  DENSE_STEP_INPUT_NAMES,
  denseStepArrays,
  denseStepInputShapes,
  densePackedLayout,
  type DenseStepArrays,
  type DenseStepSizes,
} from './dense-step-layout';
import { fusedMemoryStep } from './fused-memory-step';
import { type DenseStepSimdMode, setDenseStepSimd } from './link-pass-simd';
import { randomStepInputs, seededRandom, stepArguments } from './random-step-inputs';

function float32Inputs(sizes: DenseStepSizes, seed: number): DenseStepArrays<Float32Array> {
  const inputs = randomStepInputs(sizes, seed);
  return denseStepArrays(DENSE_STEP_INPUT_NAMES.map((name) => Float32Array.from(inputs[name])));
}

function stepOnce(sizes: DenseStepSizes, seed: number) {
  const inputs = float32Inputs(sizes, seed);
  const layout = densePackedLayout(sizes);
  const packed = new Float32Array(layout.size);
  const run = runDenseStep(sizes, inputs, packed);
  const random = seededRandom(seed + 7);
  const packedGradient = Float32Array.from({ length: layout.size }, () => random() * 2 - 1);
  const gradients = denseStepArrays(DENSE_STEP_INPUT_NAMES.map((name) => new Float32Array(inputs[name].length)));
  run.backward(packedGradient, gradients);
  return { packed, firstAllocation: run.firstRowsTape.allocationWeights.slice(0, sizes.memorySize), gradients };
}

before(async () => {
  await tf.setBackend('cpu');
  assert.equal(kernelWorkerReady(true), true, 'the kernel worker should load');
});

after(async () => {
  setKernelThreads(null);
  setDenseStepSimd(null);
  await stopKernelWorker();
});

for (const [batch, simd] of [
  [2, 'auto'],
  [5, 'auto'],
  [5, 'off'],
] as [number, DenseStepSimdMode][]) {
  test(`two threads give the one-thread step bit for bit (batch ${batch}, SIMD ${simd})`, () => {
    const sizes: DenseStepSizes = { batch, memorySize: 45, cellSize: 150, readHeads: 3 };
    setDenseStepSimd(simd);
    setKernelThreads(1);
    const one = stepOnce(sizes, 31 + batch);
    setKernelThreads(2);
    const repliesBefore = kernelWorkerReplies();
    const two = stepOnce(sizes, 31 + batch);
    assert.equal(kernelWorkerReplies() - repliesBefore, 2, 'the forward and the backward each went to the worker');
    assert.deepEqual(two.packed, one.packed);
    assert.deepEqual(two.firstAllocation, one.firstAllocation);
    for (const name of DENSE_STEP_INPUT_NAMES) assert.deepEqual(two.gradients[name], one.gradients[name], name);
  });
}

test("the worker takes the caller's SIMD mode (the two modes give different float32 bits)", () => {
  const sizes: DenseStepSizes = { batch: 4, memorySize: 64, cellSize: 96, readHeads: 1 };
  setKernelThreads(2);
  const repliesBefore = kernelWorkerReplies();
  setDenseStepSimd('off');
  const off = stepOnce(sizes, 3);
  setDenseStepSimd('auto');
  const simd = stepOnce(sizes, 3);
  assert.equal(kernelWorkerReplies() - repliesBefore, 4, 'both steps were split');
  // The last batch row's links come from the worker: they must follow the mode the calling thread set.
  const rowLinks = sizes.memorySize * sizes.memorySize;
  const workerLinks = (result: { packed: Float32Array }) => result.packed.subarray(result.packed.length - rowLinks);
  assert.notDeepEqual(workerLinks(simd), workerLinks(off));
  setKernelThreads(1);
  assert.deepEqual(stepOnce(sizes, 3).packed, simd.packed);
});

test('the split is taken where it measured faster: scalar loops with SIMD links, any sizable step without', () => {
  const copyTask: DenseStepSizes = { batch: 100, memorySize: 16, cellSize: 20, readHeads: 4 };
  assert.equal(splitPays(copyTask, true), true, 'copy task, SIMD links');
  for (const memorySize of [64, 256, 1024]) {
    const sizes: DenseStepSizes = { batch: 8, memorySize, cellSize: 32, readHeads: 1 };
    assert.equal(splitPays(sizes, true), false, `B 8, N ${memorySize}, SIMD links`);
    assert.equal(splitPays(sizes, false), true, `B 8, N ${memorySize}, JavaScript links`);
  }
  assert.equal(splitPays({ ...copyTask, batch: 1 }, false), false, 'a batch of one');
});

test('a step too small to split stays on the calling thread', () => {
  setKernelThreads(2);
  const repliesBefore = kernelWorkerReplies();
  stepOnce({ batch: 2, memorySize: 8, cellSize: 4, readHeads: 1 }, 5);
  assert.equal(kernelWorkerReplies(), repliesBefore);
});

test('fusedMemoryStep and its gradients are the same on one thread and on two', () => {
  const sizes: DenseStepSizes = { batch: 4, memorySize: 64, cellSize: 80, readHeads: 2 };
  const inputs = randomStepInputs(sizes, 77);
  const run = (threads: number) => {
    setKernelThreads(threads);
    const shapes = denseStepInputShapes(sizes);
    const xs = DENSE_STEP_INPUT_NAMES.map((name) =>
      tf.tensor(Float32Array.from(inputs[name]), [sizes.batch, ...shapes[name]]),
    );
    const loss = (...tensors: tf.Tensor[]) => {
      const { parsed, prev } = stepArguments(tensors, sizes);
      const { readVectors, state } = fusedMemoryStep(parsed, prev);
      return tf.addN([tf.sum(tf.square(readVectors)), tf.sum(state.linkMatrix), tf.sum(tf.mul(state.memory, 0.5))]);
    };
    const result = tf.tidy(() => {
      const { value, grads } = tf.valueAndGrads(loss)(xs);
      return [value, ...grads].map((tensor) => tensor.dataSync().slice());
    });
    tf.dispose(xs);
    return result;
  };
  const tensorsBefore = tf.memory().numTensors;
  const one = run(1);
  const repliesBefore = kernelWorkerReplies();
  const two = run(2);
  assert.equal(kernelWorkerReplies() - repliesBefore, 2);
  assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensor leaks');
  one.forEach((values, index) => assert.deepEqual(two[index], values, `output ${index}`));
});

test('by default the split pauses where it measured slower than one thread, and is tried again later', (context) => {
  const saved = process.env.ENGRAM_KERNEL_THREADS;
  delete process.env.ENGRAM_KERNEL_THREADS;
  setKernelThreads(null);
  resetSplitRecords();
  try {
    // Big enough to split, small enough to run many steps quickly.
    const sizes: DenseStepSizes = { batch: 8, memorySize: 16, cellSize: 128, readHeads: 2 };
    assert.equal(splitPays(sizes, true), true);
    const splitSteps = (steps: number) => {
      const before = kernelWorkerReplies();
      for (let i = 0; i < steps; i++) stepOnce(sizes, 90 + i);
      return (kernelWorkerReplies() - before) / 2;
    };
    if (splitSteps(1) !== 1) {
      context.skip('fewer than two cores: the default is one thread');
      return;
    }
    // Timings as a busy second core gives them: the whole step took 1.5× one thread's estimate, eight times.
    resetSplitRecords();
    for (let i = 0; i < 8; i++) recordSplit(sizes, 3, 1, 4);
    assert.equal(splitSteps(20), 0, 'paused: every step on the calling thread');
    assert.ok((splitRecord(sizes)?.pausedUntil ?? 0) > 0);
    // A split that pays (0.6 of one thread) never pauses.
    resetSplitRecords();
    for (let i = 0; i < 50; i++) recordSplit(sizes, 1.2, 1, 4);
    assert.equal(splitRecord(sizes)?.pausedUntil, 0);
    assert.equal(splitSteps(1), 1);
    // After the pause the split is probed again.
    resetSplitRecords();
    for (let i = 0; i < 8; i++) recordSplit(sizes, 3, 1, 4);
    const pausedUntil = splitRecord(sizes)?.pausedUntil ?? 0;
    assert.ok(pausedUntil > 0 && pausedUntil < 1000);
    splitSteps(pausedUntil); // one call per step forward; the backward follows its forward
    assert.ok(splitSteps(1) === 1, 'split again once the pause has run out');
  } finally {
    if (saved !== undefined) process.env.ENGRAM_KERNEL_THREADS = saved;
    resetSplitRecords();
  }
});
