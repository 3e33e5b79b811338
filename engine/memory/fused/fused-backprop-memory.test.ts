/**
 * Memory of back-propagation through time over fused dense steps (`fused-memory-step.ts` in `DNC.forward`): the
 * link matrix L [batch, N, N] is the largest tensor of a step, and neither the spent forward link matrices nor the
 * link gradients dL that flow from step to step may pile up over the T steps. At N 1024 each is 32 MB, and the wasm
 * heap never shrinks, so T of them alive at once set the process's peak memory. Peak tensor bytes (`tf.profile`)
 * of a forward+backward at two sequence lengths: the longer one may add no more than about one link matrix. And the
 * host arrays a step keeps for its backward (its output, the next step's previous link matrix) are let go as
 * back-propagation passes it, not when `tf.grads` returns.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { DNC } from '../../dnc';
import type { DenseMemoryState } from '../dense-step';
import { interfaceSize } from '../interface';
import { densePackedLayout, type DenseStepSizes } from './dense-step-layout';
import { fusedMemoryStepFromRaw } from './fused-memory-step';

const BATCH = 2;
const CELLS = 96;
const LINK_BYTES = 4 * BATCH * CELLS * CELLS;

/** Extra peak tensor bytes of one forward+backward over `steps` steps, above what was alive before. */
async function peakBytes(steps: number): Promise<number> {
  const model = new DNC({ inputSize: 3, hiddenSize: 8, numHiddenLayers: 1, nrCells: CELLS, cellSize: 2, readHeads: 1 });
  const input = tf.tidy(() => tf.sin(tf.range(0, BATCH * steps * 3).reshape([BATCH, steps, 3])) as tf.Tensor3D);
  const target = tf.zerosLike(input);
  const before = tf.memory().numBytes;
  const tensorsBefore = tf.memory().numTensors;
  const profile = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(() => {
      const { output, hidden } = model.forward(input, undefined, { resetExperience: true, training: true });
      model.disposeHidden(hidden);
      return tf.losses.sigmoidCrossEntropy(target, output) as tf.Scalar;
    });
    tf.dispose([value, grads]);
  });
  assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensor leaks');
  tf.dispose([input, target]);
  model.dispose();
  return profile.peakBytes - before;
}

for (const backend of ['cpu', 'wasm']) {
  test(`on ${backend}, peak tensor bytes do not grow by link matrices with the number of steps`, async () => {
    assert.ok(await tf.setBackend(backend), `${backend} backend initialises`);
    const short = await peakBytes(4);
    const long = await peakBytes(12);
    // Holding every spent L and every dL until the end adds two link matrices a step (16 here); everything else a
    // step keeps (controller, reads, the small state) is a few kilobytes.
    assert.ok(
      long - short < 1.5 * LINK_BYTES,
      `peak bytes 4 steps ${short}, 12 steps ${long}: ${((long - short) / LINK_BYTES).toFixed(2)} link matrices more`,
    );
  });
}

/** A full garbage collection, for tests that count what is still reachable. */
function collectGarbage(): () => void {
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('gc');
  if (typeof gc !== 'function') throw new Error('collectGarbage: --expose-gc gave no gc function');
  return () => gc();
}

test("on wasm, each step's host arrays are let go once back-propagation has passed it", async () => {
  assert.ok(await tf.setBackend('wasm'), 'wasm backend initialises');
  const collect = collectGarbage();
  const sizes: DenseStepSizes = { batch: 2, memorySize: 256, cellSize: 4, readHeads: 1 };
  const { batch, memorySize: cells, cellSize: width, readHeads: heads } = sizes;
  const steps = 8;
  const before = tf.memory().numTensors;
  // Host bytes still reachable when back-propagation reaches each step's interface, after the step's backward.
  const held: number[] = [];
  const probe = tf.customGrad((x, save) => {
    void save;
    return {
      value: tf.clone(x as tf.Tensor),
      gradFunc: (dy) => {
        collect();
        held.push(process.memoryUsage().arrayBuffers);
        return tf.clone(dy as tf.Tensor);
      },
    };
  });
  const initial: DenseMemoryState = {
    memory: tf.zeros([batch, cells, width]),
    linkMatrix: tf.zeros([batch, cells, cells]),
    precedence: tf.zeros([batch, cells]),
    readWeights: tf.zeros([batch, heads, cells]),
    writeWeights: tf.zeros([batch, cells]),
    usage: tf.zeros([batch, cells]),
  };
  const raws = Array.from({ length: steps }, (_, t) =>
    tf.tidy(() => tf.sin(tf.range(0, batch * interfaceSize(heads, width)).mul(0.3 + t)).reshape([batch, -1])),
  );
  const grads = tf.grads((...inputs: tf.Tensor[]) => {
    let state = initial;
    const reads: tf.Tensor[] = [];
    for (const raw of inputs) {
      const result = fusedMemoryStepFromRaw(probe(raw) as tf.Tensor2D, state);
      // As DNC.forward does: a spent state is freed once the next step has replaced it.
      if (state !== initial) tf.dispose(Object.values(state));
      state = result.state;
      reads.push(tf.sum(result.readVectors));
    }
    tf.dispose(Object.values(state));
    return tf.addN(reads);
  })(raws);
  assert.equal(held.length, steps);
  // Holding them all to the end leaves the count flat; letting each go drops it by a packed output per step.
  const packedBytes = 4 * densePackedLayout(sizes).size;
  assert.ok(
    held[0] - held[steps - 1] >= (steps - 3) * packedBytes,
    `host bytes held at each step of the backward: ${held.join(', ')} (a step's packed output: ${packedBytes})`,
  );
  tf.dispose([...raws, ...grads, ...Object.values(initial)]);
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
});
