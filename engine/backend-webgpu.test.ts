/**
 * The engine on the webgpu backend (Dawn's Node bindings), named by ENGRAM_BACKEND so a software adapter counts:
 * in CI that is Mesa's lavapipe (Vulkan on the CPU). Pytorch-dnc fixture parity, the dense step's gradient by finite
 * differences and against the cpu backend's plain and fused (analytic) gradients, a short training run with its
 * debug frame against the cpu backend's, checkpoints moved cpu → webgpu → cpu, and no tensor leaks.
 *
 * Tolerances: 1e-4 (the fixtures' bound) wherever the two backends compute the same float32 expression; 1e-3 only
 * for losses after an optimizer update, where the gradients' reductions (matMul, sum) run in another order on the
 * GPU and the difference passes through Adam's normalisation. Where no WebGPU adapter can be had (no Vulkan driver
 * Dawn accepts, e.g. Debian 12's own Mesa 22) every test here is skipped with the reason; nothing else depends
 * on them.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it, type TestContext } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { chooseBackend, releaseBackend } from './backend';
import type { DebugFrame } from './frames';
import { checkDenseStepGradient, type GradientCheckReport, INPUT_NAMES } from './memory/gradient-check-case';
import { createMemory } from './memory/registry';
import { DenseMemory } from './memory/dense-memory';
import { replayDncFixture } from './parity/dnc-fixture';
import { readParityFixture } from './parity/fixtures';
import { replayMemoryFixture } from './parity/memory-fixture';
import { createTrainer, restoreTrainer } from './training/trainer';
import { takeWebGpuErrors } from './webgpu-kernels';

const FIXTURE_TOLERANCE = 1e-4;
const REORDERED_TOLERANCE = 1e-3;

let unavailable: string | undefined;

before(async () => {
  try {
    const choice = await chooseBackend({
      env: { ENGRAM_BACKEND: 'webgpu' },
      log: (line) => console.log(line),
    });
    assert.equal(choice.name, 'webgpu');
    assert.ok(choice.adapter !== undefined, 'the choice names its adapter');
  } catch (error) {
    unavailable = error instanceof Error ? error.message : String(error);
    console.log(`[webgpu tests] SKIPPED: ${unavailable}`);
  }
});

// Dawn holds the event loop open while navigator.gpu is referenced: release it, or this file never exits.
after(() => releaseBackend());

// A WebGPU validation error drops a whole command buffer silently: every test must leave none behind.
afterEach(() => {
  assert.deepEqual(takeWebGpuErrors(), [], 'WebGPU validation errors');
});

/** Skip (saying why) when there is no adapter; otherwise make webgpu the active backend. */
async function onWebGpu(t: TestContext): Promise<boolean> {
  if (unavailable !== undefined) {
    t.skip(`no WebGPU adapter: ${unavailable}`);
    return false;
  }
  assert.ok(await tf.setBackend('webgpu'));
  return true;
}

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

function maxAbs(values: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(values[i]));
  return worst;
}

describe('webgpu: pytorch-dnc fixture parity', () => {
  for (const file of ['memory_A.json', 'memory_A_randinit.json', 'memory_A_independent_linears.json']) {
    it(`${file}: every recorded tensor within ${FIXTURE_TOLERANCE} (tie orders injected)`, async (t) => {
      if (!(await onWebGpu(t))) return;
      const report = await replayMemoryFixture(readParityFixture(file), { injectSortOrder: true });
      assert.equal(tf.getBackend(), 'webgpu');
      assert.equal(report.sortOrderMismatches, 0, 'free-list order on untied rows');
      assert.ok('state_after.link_matrix' in report.maxAbsError);
      for (const [name, error] of Object.entries(report.maxAbsError))
        assert.ok(error <= FIXTURE_TOLERANCE, `${name}: ${error}`);
    });
  }
  for (const file of ['dnc_A.json', 'dnc_A_randinit.json']) {
    for (const mode of ['stepwise', 'single-call'] as const) {
      it(`${file} ${mode}: outputs, state and debug frame within ${FIXTURE_TOLERANCE}`, async (t) => {
        if (!(await onWebGpu(t))) return;
        const report = await replayDncFixture(readParityFixture(file), { mode, injectSortOrder: true });
        assert.equal(tf.getBackend(), 'webgpu');
        assert.ok('outputs' in report.maxAbsError);
        if (mode === 'single-call') assert.ok('debug_memory.link_matrix' in report.maxAbsError);
        for (const [name, error] of Object.entries(report.maxAbsError))
          assert.ok(error <= FIXTURE_TOLERANCE, `${name}: ${error}`);
      });
    }
  }
});

describe('webgpu: kernels', () => {
  it('AddN over more tensors than the storage-buffer limit sums them all (tfjs 4.22 drops it silently)', async (t) => {
    if (!(await onWebGpu(t))) return;
    const tensors = Array.from({ length: 31 }, (_, i) => tf.fill([3, 2], i + 1));
    const sum = tf.addN(tensors);
    const values = await sum.data();
    tf.dispose([sum, ...tensors]);
    assert.deepEqual(Array.from(values), new Array(6).fill((31 * 32) / 2));
  });
});

describe('webgpu: the dense memory step', () => {
  it('runs the plain tfjs ops (the fused CPU kernel would read every step back) and refuses fused', async (t) => {
    if (!(await onWebGpu(t))) return;
    const memory = new DenseMemory({ inputSize: 4, memorySize: 5, cellSize: 3, readHeads: 1 });
    assert.equal(memory.fused, false);
    memory.dispose();
    assert.throws(
      () => new DenseMemory({ inputSize: 4, memorySize: 5, cellSize: 3, readHeads: 1, fused: true }),
      /DenseMemory: config.fused .* the 'webgpu' backend has none in Node/,
    );
  });

  it('SAM and SDNC refuse webgpu, saying what lives on the host', async (t) => {
    if (!(await onWebGpu(t))) return;
    for (const kind of ['sam', 'sdnc'] as const) {
      assert.throws(
        () => createMemory(kind, { inputSize: 4, memorySize: 8, cellSize: 3, readHeads: 1 }),
        /index, row store and sparse links on the host .* Run SAM\/SDNC on wasm or cpu/,
      );
    }
  });

  it('its gradient matches finite differences, and the cpu plain and fused (analytic) gradients', async (t) => {
    if (unavailable !== undefined) return t.skip(`no WebGPU adapter: ${unavailable}`);
    await tf.setBackend('cpu');
    const plainCpu = await checkDenseStepGradient('plain');
    const fusedCpu = await checkDenseStepGradient('fused');
    if (!(await onWebGpu(t))) return;
    const before = tf.memory().numTensors;
    const gpu: GradientCheckReport = await checkDenseStepGradient('plain');
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks on webgpu');
    assert.deepEqual(gpu.failures, []);
    for (const name of INPUT_NAMES) {
      assert.ok(gpu.largestGradient[name] > 1e-4, `gradient of ${name} is non-zero`);
      const scale = Math.max(1, maxAbs(plainCpu.gradients[name]));
      const vsPlain = maxAbsDifference(gpu.gradients[name], plainCpu.gradients[name]);
      const vsFused = maxAbsDifference(gpu.gradients[name], fusedCpu.gradients[name]);
      assert.ok(vsPlain <= FIXTURE_TOLERANCE * scale, `${name}: webgpu vs cpu plain ${vsPlain} (scale ${scale})`);
      assert.ok(vsFused <= FIXTURE_TOLERANCE * scale, `${name}: webgpu vs cpu fused ${vsFused} (scale ${scale})`);
    }
  });
});

/** Small unequal sizes, every mechanism; Adam. */
const TINY = {
  task: 'copy',
  input_size: 4,
  batch_size: 4,
  nhid: 12,
  mem_slot: 7,
  mem_size: 5,
  read_heads: 2,
  sequence_max_length: 3,
  lr: 0.01,
  summarize_freq: 1000,
  seed: 5,
};
const STEPS = 3;

interface RunRecord {
  losses: number[];
  frame: DebugFrame;
  tensorsPerStep: number[];
  checkpoint: Uint8Array;
}

async function shortRun(): Promise<RunRecord> {
  const trainer = createTrainer(TINY);
  const losses: number[] = [];
  const tensorsPerStep: number[] = [];
  let frame: DebugFrame | undefined;
  try {
    for (let i = 0; i < STEPS; i++) {
      // The first iteration's frame: taken before any update, so both backends see the same weights.
      const result = await trainer.step({ captureFrame: i === 0 });
      losses.push(result.loss);
      if (result.frame !== undefined) frame = result.frame;
      tensorsPerStep.push(tf.memory().numTensors);
    }
    assert.ok(frame !== undefined, 'the first step captured a frame');
    return { losses, frame, tensorsPerStep, checkpoint: await trainer.checkpoint() };
  } finally {
    trainer.dispose();
  }
}

async function testLoss(bytes: Uint8Array): Promise<{ loss: number; weights: Map<string, Float32Array> }> {
  const trainer = restoreTrainer(bytes);
  try {
    return { loss: (await trainer.test({ batches: 2 })).loss, weights: await trainer.weights() };
  } finally {
    trainer.dispose();
  }
}

describe('webgpu: training', () => {
  it(`a ${STEPS}-iteration copy run matches the cpu run, frame included, without leaking tensors`, async (t) => {
    if (unavailable !== undefined) return t.skip(`no WebGPU adapter: ${unavailable}`);
    await tf.setBackend('cpu');
    const cpu = await shortRun();
    if (!(await onWebGpu(t))) return;
    const gpu = await shortRun();
    assert.ok(Math.abs(gpu.losses[0] - cpu.losses[0]) <= FIXTURE_TOLERANCE, `first loss ${gpu.losses[0]}`);
    gpu.losses.forEach((loss, i) => {
      assert.ok(Number.isFinite(loss), `loss ${i} finite`);
      assert.ok(Math.abs(loss - cpu.losses[i]) <= REORDERED_TOLERANCE, `loss ${i}: ${loss} vs cpu ${cpu.losses[i]}`);
    });
    // After the first step (which builds the debug twin) the live tensor count stays flat.
    assert.equal(gpu.tensorsPerStep[STEPS - 1], gpu.tensorsPerStep[1], `tensors per step ${gpu.tensorsPerStep}`);
    assert.deepEqual(
      gpu.frame.tensors.map((tensor) => tensor.name),
      cpu.frame.tensors.map((tensor) => tensor.name),
    );
    for (const [i, tensor] of gpu.frame.tensors.entries()) {
      assert.deepEqual(tensor.shape, cpu.frame.tensors[i].shape, tensor.name);
      const error = maxAbsDifference(tensor.data, cpu.frame.tensors[i].data);
      assert.ok(error <= FIXTURE_TOLERANCE, `frame ${tensor.name}: ${error}`);
    }
  });

  it('a checkpoint moves cpu → webgpu → cpu with the same weights and test loss', async (t) => {
    if (unavailable !== undefined) return t.skip(`no WebGPU adapter: ${unavailable}`);
    await tf.setBackend('cpu');
    const trained = await shortRun();
    const onCpu = await testLoss(trained.checkpoint);
    if (!(await onWebGpu(t))) return;
    const onGpu = await testLoss(trained.checkpoint);
    assert.ok(Math.abs(onGpu.loss - onCpu.loss) <= FIXTURE_TOLERANCE, `test loss ${onGpu.loss} vs ${onCpu.loss}`);
    assert.deepEqual(onGpu.weights, onCpu.weights, 'weights survive the upload bit for bit');
    // Train one more step on webgpu, then take that checkpoint back to cpu.
    const resumed = restoreTrainer(trained.checkpoint);
    await resumed.step();
    const gpuCheckpoint = await resumed.checkpoint();
    const gpuWeights = await resumed.weights();
    const gpuTest = (await resumed.test({ batches: 2 })).loss;
    resumed.dispose();
    await tf.setBackend('cpu');
    const back = await testLoss(gpuCheckpoint);
    assert.deepEqual(back.weights, gpuWeights);
    assert.ok(Math.abs(back.loss - gpuTest) <= FIXTURE_TOLERANCE, `test loss on cpu ${back.loss} vs webgpu ${gpuTest}`);
  });
});
