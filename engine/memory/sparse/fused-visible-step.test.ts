/**
 * The fused visible step (`fused-visible-step.ts`, kernel in `visible-step-kernel.ts`) against the tfjs op
 * composition it replaces (`plainVisibleStep`): values and the gradient w.r.t. every differentiable input, for SAM
 * and SDNC at several sizes on random valid plans; the kernel's gradient against finite differences in float64; and
 * the module run both ways.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { SeededRandom } from '../../controller/seeded-random';
import { fusedVisibleStep, fusedVisibleStepFromRaw } from './fused-visible-step';
import { activateSparseInterface, parseSparseInterface, sparseInterfaceSize } from './sparse-interface';
import { plainVisibleStep, type VisibleStepResult, type VisibleStepTensors } from './sparse-step';
import { SparseAccessMemory, SparseTemporalMemory } from './sparse-memory';
import { visibleStepForward } from './visible-step-kernel';
import {
  VISIBLE_STEP_INPUT_NAMES,
  type VisibleStepInputs,
  type VisibleStepPlan,
  type VisibleStepSizes,
} from './visible-step-types';
import { visibleStepBackward } from './visible-step-kernel-backward';

before(async () => {
  await tf.setBackend('cpu');
});

/** Distinct random picks from [0, count). */
function distinct(random: SeededRandom, count: number, picks: number): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(((random.uniform(1, 1)[0] + 1) / 2) * (i + 1)) % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order.slice(0, picks);
}

/** A valid random plan: `real` of V slots in use, some rows from the journal, links only among real slots. */
function randomPlan(sizes: VisibleStepSizes, random: SeededRandom): VisibleStepPlan {
  const { batch: B, visible: V, cellSize: W, readHeads: R, sparseReads: K, journalRows: J } = sizes;
  const { precedenceSize: P, temporal } = sizes;
  const unit = () => (random.uniform(1, 1)[0] + 1) / 2;
  const real = V - 2;
  const plan = {
    hostRows: new Float32Array(B * V * W),
    journalIndex: new Int32Array(B * V).fill(-1),
    prevReadSlots: new Int32Array(B * R * K).fill(-1),
    leastUsedSlots: new Int32Array(B),
    candidateMask: new Float32Array(B * R * V),
    visibleMask: new Float32Array(temporal ? B * V : 0),
    links: new Float32Array(temporal ? B * V * V : 0),
    precedenceSlots: new Int32Array(B * P).fill(-1),
  };
  for (let b = 0; b < B; b++) {
    const journalRows = distinct(random, J, 3);
    for (let v = 0; v < real; v++) {
      if (v < 3) plan.journalIndex[b * V + v] = journalRows[v];
      else for (let j = 0; j < W; j++) plan.hostRows[(b * V + v) * W + j] = random.uniform(1, 1)[0];
      if (temporal) plan.visibleMask[b * V + v] = 1;
    }
    plan.leastUsedSlots[b] = Math.floor(unit() * real);
    for (let h = 0; h < R; h++) {
      // The last slot of the last head stays empty (−1), as before the first step.
      distinct(random, real, K).forEach((slot, k) => {
        if (!(h === R - 1 && k === K - 1)) plan.prevReadSlots[(b * R + h) * K + k] = slot;
      });
      for (let v = 0; v < real; v++) if (unit() < 0.6) plan.candidateMask[(b * R + h) * V + v] = 1;
    }
    if (temporal) {
      for (let i = 0; i < real; i++)
        for (let j = 0; j < real; j++) if (i !== j && unit() < 0.4) plan.links[(b * V + i) * V + j] = 0.3 * unit();
      distinct(random, real, P - 1).forEach((slot, i) => {
        plan.precedenceSlots[b * P + i] = slot;
      });
    }
  }
  return plan;
}

/** Random differentiable inputs in their ranges, as tensors. */
function randomTensors(sizes: VisibleStepSizes, seed: number): VisibleStepTensors {
  const { batch: B, cellSize: W, readHeads: R, sparseReads: K, journalRows: J, precedenceSize: P, temporal } = sizes;
  const random = new SeededRandom(seed);
  const uniform = (n: number) => Float32Array.from(random.uniform(n, 1), (x) => (x + 1) / 2);
  const signed = (n: number) => Float32Array.from(random.uniform(n, 1));
  const normalised = (values: Float32Array, groups: number, scale: number) => {
    const size = values.length / groups;
    for (let g = 0; g < groups; g++) {
      const total = values.subarray(g * size, (g + 1) * size).reduce((a, c) => a + c, 0);
      for (let i = 0; i < size; i++) values[g * size + i] *= scale / total;
    }
    return values;
  };
  return {
    journal: tf.tensor3d(signed(B * J * W), [B, J, W]),
    prevReadWeights: tf.tensor3d(normalised(uniform(B * R * K), B * R, 0.9), [B, R, K]),
    prevPrecedence: tf.tensor2d(normalised(uniform(B * P), B, 0.8), [B, P]),
    controls: {
      readKeys: tf.tensor3d(signed(B * R * W), [B, R, W]),
      readStrengths: tf.tensor2d(
        Float32Array.from(uniform(B * R), (x) => 0.5 + 4 * x),
        [B, R],
      ),
      writeVector: tf.tensor2d(signed(B * W), [B, W]),
      eraseVector: tf.tensor2d(uniform(B * W), [B, W]),
      interpolationGate: tf.tensor2d(uniform(B), [B, 1]),
      writeGate: tf.tensor2d(
        Float32Array.from(uniform(B), (x) => 0.3 + 0.7 * x),
        [B, 1],
      ),
      readModes: temporal ? tf.tensor3d(normalised(uniform(B * R * 3), B * R, 1), [B, R, 3]) : null,
    },
  };
}

type StepFn = typeof plainVisibleStep;

/** Values and the gradients of Σ_outputs ⟨output, projection⟩ w.r.t. every differentiable input. */
function valuesAndGradients(step: StepFn, sizes: VisibleStepSizes, plan: VisibleStepPlan, tensors: VisibleStepTensors) {
  const { controls } = tensors;
  const leaves = [
    tensors.journal,
    tensors.prevReadWeights,
    controls.readKeys,
    controls.readStrengths,
    controls.writeVector,
    controls.eraseVector,
    controls.interpolationGate,
    controls.writeGate,
    ...(controls.readModes === null ? [] : [tensors.prevPrecedence, controls.readModes]),
  ];
  const names = ['journal', 'prevReadWeights', 'readKeys', 'readStrengths', 'writeVector', 'eraseVector'];
  names.push('interpolationGate', 'writeGate', 'prevPrecedence', 'readModes');
  const rebuild = (xs: tf.Tensor[]): VisibleStepTensors => ({
    journal: xs[0] as tf.Tensor3D,
    prevReadWeights: xs[1] as tf.Tensor3D,
    prevPrecedence: (xs[8] ?? tensors.prevPrecedence) as tf.Tensor2D,
    controls: {
      readKeys: xs[2] as tf.Tensor3D,
      readStrengths: xs[3] as tf.Tensor2D,
      writeVector: xs[4] as tf.Tensor2D,
      eraseVector: xs[5] as tf.Tensor2D,
      interpolationGate: xs[6] as tf.Tensor2D,
      writeGate: xs[7] as tf.Tensor2D,
      readModes: (xs[9] ?? null) as tf.Tensor3D | null,
    },
  });
  const outputsOf = (result: VisibleStepResult): tf.Tensor[] => [
    result.readVectors,
    result.memory,
    result.writeWeights,
    result.readWeights,
    ...(result.precedence === null ? [] : [result.precedence]),
  ];
  let values: number[][] = [];
  const gradients = tf.grads((...xs: tf.Tensor[]) => {
    const outputs = outputsOf(step(sizes, plan, rebuild(xs)));
    values = outputs.map((t) => Array.from(t.dataSync()));
    return outputs
      .map((t, i) => tf.sum(tf.mul(t, tf.randomNormal(t.shape, 0, 1, 'float32', 500 + i))))
      .reduce((a, c) => tf.add(a, c)) as tf.Scalar;
  })(leaves);
  return { values, gradients: gradients.map((g, i) => ({ name: names[i], values: Array.from(g.dataSync()) })) };
}

/** |a − b| ≤ tolerance · max(1, max |b|) entry by entry. */
function assertClose(actual: number[], expected: number[], tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const scale = Math.max(1, ...expected.map(Math.abs));
  actual.forEach((value, i) => {
    assert.ok(
      Math.abs(value - expected[i]) <= tolerance * scale,
      `${what}[${i}]: fused ${value}, plain ${expected[i]} (scale ${scale})`,
    );
  });
}

function sizesFor(
  batch: number,
  visible: number,
  cellSize: number,
  heads: number,
  temporal: boolean,
): VisibleStepSizes {
  const sparseReads = 2;
  return {
    batch,
    visible,
    cellSize,
    readHeads: heads,
    sparseReads,
    journalRows: 9,
    precedenceSize: temporal ? heads * sparseReads + 1 : 0,
    temporal,
  };
}

describe('fusedVisibleStep', () => {
  for (const temporal of [false, true]) {
    for (const [batch, visible, cellSize, heads] of [
      [1, 9, 3, 1],
      [2, 13, 5, 2],
      [3, 17, 4, 3],
    ]) {
      const name = `${temporal ? 'SDNC' : 'SAM'} B${batch} V${visible} W${cellSize} R${heads}`;
      it(`${name}: values and every gradient equal the tfjs composition`, () => {
        const sizes = sizesFor(batch, visible, cellSize, heads, temporal);
        const plan = randomPlan(sizes, new SeededRandom(visible));
        const tensors = randomTensors(sizes, 7 * visible);
        const before = tf.memory().numTensors;
        const plain = tf.tidy(() => valuesAndGradients(plainVisibleStep, sizes, plan, tensors));
        const fused = tf.tidy(() => valuesAndGradients(fusedVisibleStep, sizes, plan, tensors));
        assert.equal(tf.memory().numTensors, before, 'tensors leaked');
        fused.values.forEach((values, i) => assertClose(values, plain.values[i], 1e-5, `output ${i}`));
        assert.equal(fused.gradients.length, temporal ? 10 : 8);
        fused.gradients.forEach((gradient, i) => {
          assert.ok(
            gradient.values.some((g) => g !== 0),
            `∂/∂${gradient.name} is all zero`,
          );
          assertClose(gradient.values, plain.gradients[i].values, 1e-5, `∂/∂${gradient.name}`);
        });
      });
    }
  }

  for (const temporal of [false, true]) {
    const name = temporal ? 'SDNC' : 'SAM';
    it(`${name} from the raw interface: values and gradients equal parseSparseInterface + the tfjs composition`, () => {
      const sizes = sizesFor(3, 15, 5, 3, temporal);
      const plan = randomPlan(sizes, new SeededRandom(21));
      const { journal, prevReadWeights, prevPrecedence } = randomTensors(sizes, 22);
      const width = sparseInterfaceSize(sizes.readHeads, sizes.cellSize, temporal);
      const raw = tf.randomNormal([sizes.batch, width], 0, 2, 'float32', 23) as tf.Tensor2D;
      const rawValues = raw.dataSync() as Float32Array;
      const activated = activateSparseInterface(rawValues, sizes.batch, sizes.readHeads, sizes.cellSize, temporal);
      const before = tf.memory().numTensors;
      const run = (fused: boolean) =>
        tf.tidy(() => {
          const leaves = [raw, journal, prevReadWeights, ...(temporal ? [prevPrecedence] : [])];
          let values: number[][] = [];
          const gradients = tf.grads((...xs: tf.Tensor[]) => {
            const state = {
              journal: xs[1] as tf.Tensor3D,
              prevReadWeights: xs[2] as tf.Tensor3D,
              prevPrecedence: (xs[3] ?? prevPrecedence) as tf.Tensor2D,
            };
            const result = fused
              ? fusedVisibleStepFromRaw(sizes, plan, state, xs[0] as tf.Tensor2D, activated)
              : plainVisibleStep(sizes, plan, {
                  ...state,
                  controls: parseSparseInterface(xs[0] as tf.Tensor2D, sizes.readHeads, sizes.cellSize, temporal),
                });
            const outputs = [result.readVectors, result.memory, result.writeWeights, result.readWeights];
            if (result.precedence !== null) outputs.push(result.precedence);
            values = outputs.map((t) => Array.from(t.dataSync()));
            return outputs
              .map((t, i) => tf.sum(tf.mul(t, tf.randomNormal(t.shape, 0, 1, 'float32', 600 + i))))
              .reduce((a, c) => tf.add(a, c)) as tf.Scalar;
          })(leaves);
          return { values, gradients: gradients.map((g) => Array.from(g.dataSync())) };
        });
      const plain = run(false);
      const fused = run(true);
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      fused.values.forEach((values, i) => assertClose(values, plain.values[i], 1e-5, `output ${i}`));
      const names = ['interfaceRaw', 'journal', 'prevReadWeights', 'prevPrecedence'];
      fused.gradients.forEach((gradient, i) => assertClose(gradient, plain.gradients[i], 1e-5, `∂/∂${names[i]}`));
      // Every part of the raw interface gets a gradient (a part dropped from the backward would read 0).
      const rawGradient = fused.gradients[0];
      for (let column = 0; column < width; column++)
        assert.ok(
          Array.from({ length: sizes.batch }, (_, b) => rawGradient[b * width + column]).some((g) => g !== 0),
          `∂/∂interfaceRaw[:, ${column}] is all zero`,
        );
    });
  }

  it('activateSparseInterface equals parseSparseInterface', () => {
    for (const temporal of [false, true]) {
      const [batch, heads, cellSize] = [3, 2, 5];
      const raw = tf.randomNormal([batch, sparseInterfaceSize(heads, cellSize, temporal)], 0, 3, 'float32', 31);
      const host = activateSparseInterface(raw.dataSync() as Float32Array, batch, heads, cellSize, temporal);
      const parsed = parseSparseInterface(raw as tf.Tensor2D, heads, cellSize, temporal);
      for (const key of Object.keys(host) as (keyof typeof host)[]) {
        const expected = parsed[key];
        assertClose(Array.from(host[key]), Array.from(expected?.dataSync() ?? []), 1e-6, key);
      }
    }
  });

  it('kernel gradients match central finite differences in float64 (SAM and SDNC)', () => {
    for (const temporal of [false, true]) {
      const sizes = sizesFor(2, 11, 3, 2, temporal);
      const plan = randomPlan(sizes, new SeededRandom(3));
      const tensors = randomTensors(sizes, 5);
      const { controls } = tensors;
      const source: Record<(typeof VISIBLE_STEP_INPUT_NAMES)[number], tf.Tensor | null> = {
        journal: tensors.journal,
        prevReadWeights: tensors.prevReadWeights,
        interpolationGate: controls.interpolationGate,
        writeGate: controls.writeGate,
        eraseVector: controls.eraseVector,
        writeVector: controls.writeVector,
        readKeys: controls.readKeys,
        readStrengths: controls.readStrengths,
        prevPrecedence: temporal ? tensors.prevPrecedence : null,
        readModes: controls.readModes,
      };
      const inputs = Object.fromEntries(
        VISIBLE_STEP_INPUT_NAMES.map((name) => [name, Float64Array.from(source[name]?.dataSync() ?? [])]),
      ) as unknown as VisibleStepInputs<Float64Array>;
      const tape = visibleStepForward(sizes, plan, inputs);
      const projection = (n: number, seed: number) => Float64Array.from(new SeededRandom(seed).uniform(n, 1));
      const weights = {
        readVectors: projection(tape.outputs.readVectors.length, 1),
        memory: projection(tape.outputs.memory.length, 2),
        writeWeights: projection(tape.outputs.writeWeights.length, 3),
        readWeights: projection(tape.outputs.readWeights.length, 4),
        precedence: projection(tape.outputs.precedence.length, 5),
        links: projection(tape.outputs.links.length, 6),
      };
      const loss = (): number => {
        const { outputs } = visibleStepForward(sizes, plan, inputs);
        let total = 0;
        for (const key of Object.keys(weights) as (keyof typeof weights)[])
          outputs[key].forEach((value, i) => {
            total += value * weights[key][i];
          });
        return total;
      };
      const gradients = visibleStepBackward(tape, weights);
      const step = 1e-6;
      for (const name of VISIBLE_STEP_INPUT_NAMES) {
        const values = inputs[name];
        for (let i = 0; i < values.length; i += Math.max(1, Math.floor(values.length / 7))) {
          const original = values[i];
          values[i] = original + step;
          const up = loss();
          values[i] = original - step;
          const down = loss();
          values[i] = original;
          const numeric = (up - down) / (2 * step);
          const exact = gradients[name][i];
          assert.ok(
            Math.abs(numeric - exact) <= 1e-5 * Math.max(1, Math.abs(numeric)),
            `${temporal ? 'SDNC' : 'SAM'} ∂/∂${name}[${i}]: analytic ${exact}, numeric ${numeric}`,
          );
        }
      }
    }
  });

  // On wasm too: there the journal and its gradient are read as transient views of the heap.
  for (const backend of ['cpu', 'wasm']) {
    it(`the module reads and differentiates the same fused and plain over a sequence (${backend})`, async () => {
      assert.ok(await tf.setBackend(backend));
      for (const Memory of [SparseAccessMemory, SparseTemporalMemory]) {
        const config = { inputSize: 6, memorySize: 30, cellSize: 4, readHeads: 2, sparseReads: 2, temporalReads: 2 };
        const run = (fused: boolean) => {
          const memory = new Memory({ ...config, fused }, 9);
          const weight = memory.variables.get('interface_weights.weight');
          assert.ok(weight);
          const xs = Array.from({ length: 6 }, (_, t) => tf.randomNormal([2, 6], 0, 1.5, 'float32', 40 + t));
          const reads: number[] = [];
          const { grads } = tf.variableGrads(() => {
            let state = memory.initialState(2);
            let loss: tf.Scalar = tf.scalar(0);
            xs.forEach((x, t) => {
              const result = memory.step(x as tf.Tensor2D, state);
              reads.push(...result.readVectors.dataSync());
              loss = tf.add(
                loss,
                tf.sum(tf.mul(result.readVectors, tf.randomNormal([2, 2, 4], 0, 1, 'float32', 1 + t))),
              );
              state = result.state;
            });
            return loss;
          }, [weight]);
          const gradient = Array.from(grads[weight.name].dataSync());
          memory.dispose();
          return { reads, gradient };
        };
        const fused = run(true);
        const plain = run(false);
        assertClose(fused.reads, plain.reads, 1e-5, `${Memory.name} reads`);
        assertClose(fused.gradient, plain.gradient, 1e-4, `${Memory.name} ∂/∂interface_weights`);
      }
      assert.ok(await tf.setBackend('cpu'));
    });
  }
});
