/**
 * Memory of back-propagation through time over fused dense steps (`fused-memory-step.ts` in `DNC.forward`): the
 * link matrix L [batch, N, N] is the largest tensor of a step, and neither the spent forward link matrices nor the
 * link gradients dL that flow from step to step may pile up over the T steps. At N 1024 each is 32 MB, and the wasm
 * heap never shrinks, so T of them alive at once set the process's peak memory. Peak tensor bytes (`tf.profile`)
 * of a forward+backward at two sequence lengths: the longer one may add no more than about one link matrix.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { DNC } from '../../dnc';

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
