/**
 * SAM and SDNC (Rae et al. 2016) as memory modules: equality with a dense content read when K = N, finite-difference
 * gradients through the visible set and the journal, invariants, rollback purity, option errors and leaks.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { createMemory } from '../registry';
import { SparseAccessMemory, SparseTemporalMemory } from './sparse-memory';
import type { SparseMemoryConfig, SparseMemoryState } from './sparse-memory-base';
import { parseSparseInterface } from './sparse-interface';

const BATCH = 2;
const INPUT = 7;

function inputs(steps: number, seed: number): tf.Tensor2D[] {
  return Array.from(
    { length: steps },
    (_, t) => tf.randomNormal([BATCH, INPUT], 0, 1.5, 'float32', seed + t) as tf.Tensor2D,
  );
}

function disposeState(state: SparseMemoryState): void {
  for (const tensor of Object.values(state)) tensor.dispose();
}

/** Run `xs` from a fresh state; returns Σ_t Σ readVectors_t ⊙ weights_t (a scalar) inside the caller's scope. */
function sequenceLoss(memory: SparseAccessMemory, xs: tf.Tensor2D[], projections: tf.Tensor3D[]): tf.Scalar {
  let state = memory.initialState(BATCH);
  let loss: tf.Scalar = tf.scalar(0);
  xs.forEach((x, t) => {
    const result = memory.step(x, state);
    loss = tf.add(loss, tf.sum(tf.mul(result.readVectors, projections[t])));
    state = result.state;
  });
  return loss;
}

before(async () => {
  await tf.setBackend('cpu');
});

describe('SparseAccessMemory', () => {
  it('with K = N and the exact index equals a dense softmax-cosine read over the whole memory', () => {
    const config: SparseMemoryConfig = {
      inputSize: INPUT,
      memorySize: 9,
      cellSize: 5,
      readHeads: 2,
      sparseReads: 9,
      indexType: 'exact',
    };
    const memory = new SparseAccessMemory(config, 3);
    let state = memory.initialState(BATCH);
    for (const x of inputs(4, 11)) {
      const result = memory.step(x, state);
      const [weight, bias] = [
        memory.variables.get('interface_weights.weight'),
        memory.variables.get('interface_weights.bias'),
      ];
      assert.ok(weight && bias);
      const controls = parseSparseInterface(tf.add(tf.matMul(x, weight, false, true), bias), 2, 5, false);
      const rows = Array.from({ length: BATCH }, (_, b) =>
        Array.from({ length: 9 }, (_, cell) => Array.from(memory.readHostRow(b, cell))),
      );
      const full = tf.tensor3d(rows);
      const keys = controls.readKeys;
      const cosine = tf.div(
        tf.matMul(keys, full, false, true),
        tf.add(tf.mul(tf.expandDims(tf.norm(keys, 2, 2), 2), tf.expandDims(tf.norm(full, 2, 2), 1)), 1e-6),
      );
      const weights = tf.softmax(tf.mul(cosine, tf.expandDims(controls.readStrengths, 2))) as tf.Tensor3D;
      const expected = (tf.matMul(weights, full) as tf.Tensor3D).arraySync();
      const actual = result.readVectors.arraySync();
      expected
        .flat(2)
        .forEach((value, i) =>
          assert.ok(Math.abs(value - actual.flat(2)[i]) < 1e-5, `read ${i}: ${actual.flat(2)[i]} vs dense ${value}`),
        );
      state = result.state;
    }
    memory.dispose();
  });

  it('gradients match finite differences through the visible set and the journal over a sequence', () => {
    const memory = new SparseAccessMemory(
      { inputSize: INPUT, memorySize: 40, cellSize: 4, readHeads: 2, sparseReads: 3 },
      5,
    );
    const xs = inputs(4, 21);
    const projections = xs.map((_, t) => tf.randomNormal([BATCH, 2, 4], 0, 1, 'float32', 100 + t) as tf.Tensor3D);
    const weight = memory.variables.get('interface_weights.weight');
    assert.ok(weight);
    const { grads } = tf.variableGrads(() => sequenceLoss(memory, xs, projections), [weight]);
    const analytic = grads[weight.name].arraySync() as number[][];
    const original = weight.arraySync() as number[][];
    const epsilon = 5e-3;
    // Entries in the read-key, strength, write-vector, erase and gate rows: the write rows reach the loss only
    // through later reads of the journal.
    for (const [row, column] of [
      [0, 1],
      [5, 3],
      [8, 0],
      [11, 2],
      [13, 6],
      [17, 0],
      [18, 4],
      [19, 5],
    ]) {
      const lossAt = (delta: number): number => {
        const perturbed = original.map((r) => [...r]);
        perturbed[row][column] += delta;
        weight.assign(tf.tensor2d(perturbed));
        return tf.tidy(() => sequenceLoss(memory, xs, projections).dataSync()[0]);
      };
      const numeric = (lossAt(epsilon) - lossAt(-epsilon)) / (2 * epsilon);
      weight.assign(tf.tensor2d(original));
      const exact = analytic[row][column];
      assert.ok(
        Math.abs(numeric - exact) < 2e-3 + 0.02 * Math.abs(exact),
        `∂loss/∂W[${row},${column}]: analytic ${exact}, numeric ${numeric}`,
      );
    }
    memory.dispose();
  });
});

describe('SparseTemporalMemory', () => {
  it('two-step gradients match finite differences: links w_i·p[j] reach the first write via precedence', () => {
    const memory = new SparseTemporalMemory(
      { inputSize: INPUT, memorySize: 40, cellSize: 4, readHeads: 2, sparseReads: 3, temporalReads: 2 },
      5,
    );
    const xs = inputs(2, 81);
    const projections = xs.map((_, t) => tf.randomNormal([BATCH, 2, 4], 0, 1, 'float32', 200 + t) as tf.Tensor3D);
    const weight = memory.variables.get('interface_weights.weight');
    const bias = memory.variables.get('interface_weights.bias');
    assert.ok(weight && bias);
    // Strong writes to the least recently used cell (α ≈ 1, γ ≈ 0), so p_1 and the links w_i·p[j] are large.
    const biasValues = bias.arraySync() as number[];
    biasValues[18] = -4;
    biasValues[19] = 4;
    bias.assign(tf.tensor1d(biasValues));
    const { grads } = tf.variableGrads(() => sequenceLoss(memory, xs, projections), [weight]);
    const analytic = grads[weight.name].arraySync() as number[][];
    const original = weight.arraySync() as number[][];
    const epsilon = 5e-3;
    // Write-vector, gate and read-mode rows (interface rows 10–13, 18–19, 20–25 for R 2, W 4).
    for (const [row, column] of [
      [11, 2],
      [18, 4],
      [19, 5],
      [20, 1],
      [23, 6],
      [25, 0],
    ]) {
      const lossAt = (delta: number): number => {
        const perturbed = original.map((r) => [...r]);
        perturbed[row][column] += delta;
        weight.assign(tf.tensor2d(perturbed));
        return tf.tidy(() => sequenceLoss(memory, xs, projections).dataSync()[0]);
      };
      const numeric = (lossAt(epsilon) - lossAt(-epsilon)) / (2 * epsilon);
      weight.assign(tf.tensor2d(original));
      const exact = analytic[row][column];
      assert.ok(
        Math.abs(numeric - exact) < 5e-4 + 0.01 * Math.abs(exact),
        `∂loss/∂W[${row},${column}]: analytic ${exact}, numeric ${numeric}`,
      );
    }
    memory.dispose();
  });

  it('gradients after a history match finite differences over the visible set (links, modes, content)', () => {
    const memory = new SparseTemporalMemory(
      { inputSize: INPUT, memorySize: 40, cellSize: 4, readHeads: 2, sparseReads: 3, temporalReads: 2 },
      5,
    );
    const xs = inputs(5, 61);
    const projection = tf.randomNormal([BATCH, 2, 4], 0, 1, 'float32', 7) as tf.Tensor3D;
    let state = memory.initialState(BATCH);
    for (const x of xs.slice(0, 4)) state = memory.step(x, state).state;
    const last = xs[4];
    const lossOf = (x: tf.Tensor2D): tf.Scalar => tf.sum(tf.mul(memory.step(x, state).readVectors, projection));
    const analytic = (
      tf
        .grad((x: tf.Tensor) => lossOf(x as tf.Tensor2D))(last)
        .arraySync() as number[][]
    ).flat();
    const values = last.arraySync().flat();
    const epsilon = 5e-3;
    for (const i of [0, 3, 6, 8, 12]) {
      const at = (delta: number): number => {
        const shifted = [...values];
        shifted[i] += delta;
        return tf.tidy(() => lossOf(tf.tensor2d(shifted, [BATCH, INPUT])).dataSync()[0]);
      };
      const numeric = (at(epsilon) - at(-epsilon)) / (2 * epsilon);
      assert.ok(
        Math.abs(numeric - analytic[i]) < 2e-3 + 0.02 * Math.abs(analytic[i]),
        `∂loss/∂xi[${i}]: analytic ${analytic[i]}, numeric ${numeric}`,
      );
    }
    memory.dispose();
  });
});

describe('sparse memory invariants', () => {
  it('keeps weights in [0, 1] with sums ≤ 1, a zero link diagonal, no NaN from a zero memory, and no leaks', () => {
    const memory = new SparseTemporalMemory(
      { inputSize: INPUT, memorySize: 300, cellSize: 6, readHeads: 3, sparseReads: 2, temporalReads: 2 },
      8,
    );
    let state = memory.initialState(BATCH);
    const xs = inputs(8, 31);
    let tensorsAfterFirst = -1;
    xs.forEach((x, t) => {
      const next = tf.tidy(() => {
        const { readVectors, state: stepped, debug } = memory.step(x, state, { debug: true });
        assert.ok(debug);
        const read = debug.tensors.readWeights.arraySync() as number[][];
        const write = debug.tensors.writeWeights.arraySync() as number[];
        const links = debug.tensors.linkMatrix.arraySync() as number[][];
        for (const weights of [...read, write]) {
          assert.ok(
            weights.every((w) => w >= 0 && w <= 1),
            `step ${t}: weights outside [0, 1]`,
          );
          assert.ok(weights.reduce((a, b) => a + b, 0) <= 1 + 1e-5, `step ${t}: weights sum above 1`);
        }
        links.forEach((row, i) => {
          assert.equal(row[i], 0, `step ${t}: link diagonal ${i}`);
          assert.ok(row.every((l) => l >= 0 && l <= 1));
        });
        assert.ok(readVectors.dataSync().every(Number.isFinite), `step ${t}: non-finite read vector`);
        assert.deepEqual(debug.tensors.visibleMemory.shape, [debug.tensors.visibleCells.shape[0], 6]);
        assert.deepEqual(debug.tensors.usage.shape, [300]);
        return stepped;
      });
      disposeState(state);
      state = next;
      if (t === 0) tensorsAfterFirst = tf.memory().numTensors;
      else assert.equal(tf.memory().numTensors, tensorsAfterFirst, `step ${t}: tensors leaked`);
    });
    disposeState(state);
    xs.forEach((x) => x.dispose());
    memory.dispose();
  });

  it('is a function of its inputs: re-stepping an older state rolls back; initialState empties memory', () => {
    const memory = new SparseAccessMemory(
      { inputSize: INPUT, memorySize: 50, cellSize: 4, readHeads: 2, sparseReads: 2 },
      2,
    );
    const [x0, x1] = inputs(2, 41);
    const start = memory.initialState(BATCH);
    const first = memory.step(x0, start);
    const second = memory.step(x1, first.state);
    const again = memory.step(x1, first.state);
    assert.deepEqual(again.readVectors.arraySync(), second.readVectors.arraySync());
    assert.throws(() => memory.step(x1, second.state), /history/);
    memory.initialState(BATCH);
    for (let cell = 0; cell < 50; cell++) assert.ok(memory.readHostRow(0, cell).every((v) => v === 0));
    memory.dispose();
  });

  it('keeps separate host stores per batch size, so a batch-1 replay does not disturb a running batch', () => {
    const memory = new SparseAccessMemory(
      { inputSize: INPUT, memorySize: 30, cellSize: 4, readHeads: 2, sparseReads: 2 },
      4,
    );
    const [x0, x1] = inputs(2, 71);
    const start = memory.initialState(BATCH);
    const first = memory.step(x0, start);
    const expected = memory.step(x1, first.state).readVectors.arraySync();
    const single = memory.initialState(1);
    memory.step(tf.slice(x0, 0, 1), single);
    assert.deepEqual(memory.step(x1, first.state).readVectors.arraySync(), expected);
    memory.dispose();
  });

  it('names the option and the value in configuration errors', () => {
    const base = { inputSize: INPUT, memorySize: 16, cellSize: 4, readHeads: 2 };
    assert.throws(() => new SparseAccessMemory({ ...base, sparseReads: 0 }), /sparseReads.*0/);
    assert.throws(() => new SparseAccessMemory({ ...base, sparseReads: 17 }), /sparseReads.*17/);
    assert.throws(() => new SparseTemporalMemory({ ...base, temporalReads: 1.5 }), /temporalReads.*1\.5/);
    assert.throws(() => new SparseAccessMemory({ ...base, indexType: 'lsh' as 'exact' }), /indexType.*lsh/);
    assert.throws(() => new SparseAccessMemory({ ...base, independentLinears: true }), /independentLinears.*true/);
  });

  it('is built by createMemory and runs with the hnsw index', () => {
    for (const kind of ['sam', 'sdnc'] as const) {
      const memory = createMemory(
        kind,
        {
          inputSize: INPUT,
          memorySize: 200,
          cellSize: 4,
          readHeads: 2,
          sparseReads: 3,
          temporalReads: 2,
          indexType: 'hnsw',
        },
        1,
      );
      let state = memory.initialState(BATCH);
      for (const x of inputs(3, 51)) {
        const result = memory.step(x, state);
        assert.deepEqual(result.readVectors.shape, [BATCH, 2, 4]);
        state = result.state;
      }
      memory.dispose();
    }
  });
});
