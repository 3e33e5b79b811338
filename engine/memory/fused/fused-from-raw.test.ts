/**
 * The fused step from the raw interface vector (activations inside the op) against the plain tfjs path
 * (`parseInterface` then `denseMemoryStep`, one op per activation and mechanism): the same read vectors, new
 * state and gradients w.r.t. ξ_raw and every previous-state tensor, on cpu and wasm, including raw values past
 * softplus's switch points (±13.9), without leaking tensors.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { denseMemoryStep, type DenseMemoryState } from '../dense-step';
import { interfaceSize, parseInterface } from '../interface';
import { densePackedLayout, type DenseStepSizes } from './dense-step-layout';
import { fusedMemoryStepFromRaw } from './fused-memory-step';
import { randomStepInputs, seededRandom } from './random-step-inputs';

function maxAbs(values: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(values[i]));
  return worst;
}

/** Raw interface values in about ±3, with a few planted past softplus's switch points. */
function rawInterface(sizes: DenseStepSizes, seed: number): Float32Array {
  const random = seededRandom(seed);
  const raw = Float32Array.from(
    { length: sizes.batch * interfaceSize(sizes.readHeads, sizes.cellSize) },
    () => 6 * random() - 3,
  );
  // Row 0's read strengths (offset R·W) and write strength (offset R·W + R + W) far above and below the switches.
  const strengths = sizes.readHeads * sizes.cellSize;
  raw[strengths] = 25;
  raw[strengths + sizes.readHeads + sizes.cellSize] = -18;
  return raw;
}

function compare(sizes: DenseStepSizes, seed: number): void {
  const { batch, memorySize: cells, cellSize: width, readHeads: heads } = sizes;
  const arrays = randomStepInputs(sizes, seed);
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    const tensors = [
      tf.tensor2d(rawInterface(sizes, seed + 100), [batch, interfaceSize(heads, width)]),
      tf.tensor3d(Float32Array.from(arrays.prevMemory), [batch, cells, width]),
      tf.tensor3d(Float32Array.from(arrays.prevLinkMatrix), [batch, cells, cells]),
      tf.tensor2d(Float32Array.from(arrays.prevPrecedence), [batch, cells]),
      tf.tensor3d(Float32Array.from(arrays.prevReadWeights), [batch, heads, cells]),
      tf.tensor2d(Float32Array.from(arrays.prevWriteWeights), [batch, cells]),
      tf.tensor2d(Float32Array.from(arrays.prevUsage), [batch, cells]),
    ];
    const stateOf = (xs: readonly tf.Tensor[]): DenseMemoryState => ({
      memory: xs[1] as tf.Tensor3D,
      linkMatrix: xs[2] as tf.Tensor3D,
      precedence: xs[3] as tf.Tensor2D,
      readWeights: xs[4] as tf.Tensor3D,
      writeWeights: xs[5] as tf.Tensor2D,
      usage: xs[6] as tf.Tensor2D,
    });
    const fusedStep = (xs: readonly tf.Tensor[]) => fusedMemoryStepFromRaw(xs[0] as tf.Tensor2D, stateOf(xs));
    const plainStep = (xs: readonly tf.Tensor[]) =>
      denseMemoryStep(stateOf(xs), parseInterface(xs[0] as tf.Tensor2D, heads, width));
    const stride = densePackedLayout(sizes).stride;
    const projection = tf.tensor2d(
      Float32Array.from({ length: batch * stride }, (_, i) => Math.cos(i * 0.37)),
      [batch, stride],
    );
    const projected = (result: { readVectors: tf.Tensor; state: DenseMemoryState }): tf.Scalar => {
      const { state } = result;
      const outputs = [
        result.readVectors,
        state.memory,
        state.linkMatrix,
        state.precedence,
        state.readWeights,
        state.writeWeights,
        state.usage,
      ];
      return tf.sum(
        tf.mul(
          tf.concat(
            outputs.map((output) => tf.reshape(output, [batch, -1])),
            1,
          ),
          projection,
        ),
      );
    };
    const fused = fusedStep(tensors);
    const plain = plainStep(tensors);
    for (const name of ['readVectors', ...Object.keys(plain.state)]) {
      const pick = (result: typeof fused) => (name === 'readVectors' ? result.readVectors : result.state[name]);
      const difference = maxAbs(tf.sub(pick(fused), pick(plain)).dataSync());
      assert.ok(difference <= 1e-5, `${name}: max |fused − plain| = ${difference}`);
    }
    const fusedGrads = tf.grads((...xs: tf.Tensor[]) => projected(fusedStep(xs)))(tensors);
    const plainGrads = tf.grads((...xs: tf.Tensor[]) => projected(plainStep(xs)))(tensors);
    ['interfaceRaw', 'memory', 'linkMatrix', 'precedence', 'readWeights', 'writeWeights', 'usage'].forEach(
      (name, i) => {
        assert.deepEqual(fusedGrads[i].shape, plainGrads[i].shape, `gradient shape of ${name}`);
        const scale = Math.max(1, maxAbs(plainGrads[i].dataSync()));
        const difference = maxAbs(tf.sub(fusedGrads[i], plainGrads[i]).dataSync());
        assert.ok(
          difference <= 1e-5 * scale,
          `d loss / d ${name}: max |fused − plain| = ${difference} (scale ${scale})`,
        );
      },
    );
  });
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
}

for (const backend of ['cpu', 'wasm']) {
  test(
    `on ${backend}, values and gradients equal parseInterface + the plain step (B 3, N 6, W 4, R 2 and B 2, N 5, ` +
      `W 3, R 1)`,
    async () => {
      assert.ok(await tf.setBackend(backend), `${backend} backend initialises`);
      compare({ batch: 3, memorySize: 6, cellSize: 4, readHeads: 2 }, 41);
      compare({ batch: 2, memorySize: 5, cellSize: 3, readHeads: 1 }, 42);
    },
  );
}

test('a raw interface of the wrong width is named with its shape', async () => {
  await tf.setBackend('cpu');
  tf.tidy(() => {
    const sizes = { batch: 2, memorySize: 4, cellSize: 3, readHeads: 1 };
    const state: DenseMemoryState = {
      memory: tf.zeros([2, 4, 3]),
      linkMatrix: tf.zeros([2, 4, 4]),
      precedence: tf.zeros([2, 4]),
      readWeights: tf.zeros([2, 1, 4]),
      writeWeights: tf.zeros([2, 4]),
      usage: tf.zeros([2, 4]),
    };
    const width = interfaceSize(sizes.readHeads, sizes.cellSize);
    assert.throws(
      () => fusedMemoryStepFromRaw(tf.zeros([2, width + 1]), state),
      new RegExp(`interfaceRaw must be float32 \\[2, ${width}\\].*got float32 \\[2,${width + 1}\\]`),
    );
  });
});

/** Step inputs as tensors: ξ_raw and the six previous-state tensors, from `randomStepInputs`. */
function stepTensors(sizes: DenseStepSizes, seed: number): { raw: tf.Tensor2D; state: DenseMemoryState } {
  const { batch, memorySize: cells, cellSize: width, readHeads: heads } = sizes;
  const arrays = randomStepInputs(sizes, seed);
  return {
    raw: tf.tensor2d(rawInterface(sizes, seed + 100), [batch, interfaceSize(heads, width)]),
    state: {
      memory: tf.tensor3d(Float32Array.from(arrays.prevMemory), [batch, cells, width]),
      linkMatrix: tf.tensor3d(Float32Array.from(arrays.prevLinkMatrix), [batch, cells, cells]),
      precedence: tf.tensor2d(Float32Array.from(arrays.prevPrecedence), [batch, cells]),
      readWeights: tf.tensor3d(Float32Array.from(arrays.prevReadWeights), [batch, heads, cells]),
      writeWeights: tf.tensor2d(Float32Array.from(arrays.prevWriteWeights), [batch, cells]),
      usage: tf.tensor2d(Float32Array.from(arrays.prevUsage), [batch, cells]),
    },
  };
}

for (const backend of ['cpu', 'wasm']) {
  test(`on ${backend}, under a gradient tape a step holds its seven outputs and no copy of them`, async () => {
    assert.ok(await tf.setBackend(backend), `${backend} backend initialises`);
    const sizes = { batch: 2, memorySize: 7, cellSize: 3, readHeads: 2 };
    tf.tidy(() => {
      const { raw, state } = stepTensors(sizes, 51);
      let tensorsAdded = -1;
      let bytesAdded = -1;
      tf.grad((x: tf.Tensor) => {
        const before = tf.memory();
        const result = fusedMemoryStepFromRaw(x as tf.Tensor2D, state);
        tensorsAdded = tf.memory().numTensors - before.numTensors;
        bytesAdded = tf.memory().numBytes - before.numBytes;
        return tf.sum(result.state.linkMatrix);
      })(raw);
      // A packed output split and reshaped held more: the packed tensor, the pieces, and the clone tfjs's Reshape
      // gradient keeps of each piece (at N 1024 a 32 MB link matrix per step until back-propagation).
      const outputBytes = 4 * densePackedLayout(sizes).size;
      assert.equal(tensorsAdded, 7, 'tensors made by one step under the tape');
      assert.equal(bytesAdded, outputBytes, 'bytes made by one step under the tape');
    });
  });

  test(`on ${backend}, a step reads its previous output from the host copy exactly as from fresh tensors`, async () => {
    assert.ok(await tf.setBackend(backend), `${backend} backend initialises`);
    const sizes = { batch: 3, memorySize: 6, cellSize: 4, readHeads: 2 };
    tf.tidy(() => {
      const { raw, state } = stepTensors(sizes, 61);
      const first = fusedMemoryStepFromRaw(raw, state);
      const second = stepTensors(sizes, 62).raw;
      // The first step's own output tensors (read from the host copy it kept) …
      const chained = fusedMemoryStepFromRaw(second, first.state);
      // … against new tensors holding the same values (read back with dataSync).
      const copied = Object.fromEntries(
        Object.entries(first.state).map(([name, tensor]) => [name, tf.tensor(tensor.dataSync(), tensor.shape)]),
      ) as unknown as DenseMemoryState;
      const fresh = fusedMemoryStepFromRaw(second, copied);
      assert.deepEqual(chained.readVectors.dataSync(), fresh.readVectors.dataSync(), 'readVectors');
      for (const name of Object.keys(fresh.state) as (keyof DenseMemoryState)[]) {
        assert.deepEqual(chained.state[name].dataSync(), fresh.state[name].dataSync(), String(name));
      }
    });
  });
}
