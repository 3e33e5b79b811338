/**
 * Where the time goes: a V8 CPU profile of the timed part of one workload only (start-up, module loading and
 * warm-up are left out), summarised as self time by function and by file, plus the kernels tfjs dispatches per
 * iteration, counted by name.
 *
 *   npm run bench:profile -- --workload train|dense64|dense256|dense1024|sam1k|sdnc1k [--iterations 10]
 *     [--out x.cpuprofile]
 *
 *  - `train`: `Trainer.step` on the copy task's defaults (batch 100, N 16, W 20, R 4, LSTM 64 × 2);
 *  - `dense64` / `dense256` / `dense1024`: forward + backward of the DNC at B 8, T 16, N 64 / 256 / 1024, W 32, R 1,
 *    LSTM 64 (bench:engine's N64 / N256 / N1024);
 *  - `sam1k` / `sdnc1k`: forward + backward of 16 steps of SAM / SDNC at N 1000 with every cell written
 *    (bench:sparse's `--sizes 1000 --fill-rows 1000`).
 *
 * `--out` keeps the raw profile for Chrome DevTools. The JSON summary is the last line.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../engine/backend';
import { DNC } from '../engine/dnc';
import { SparseAccessMemory, SparseTemporalMemory } from '../engine/memory/sparse/sparse-memory';
import type { SparseMemoryState } from '../engine/memory/sparse/sparse-memory-base';
import { createTrainer } from '../engine/training/trainer';

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && index + 1 < process.argv.length ? process.argv[index + 1] : fallback;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** One timed iteration of a workload, and its tear-down. */
interface Workload {
  readonly run: () => Promise<void> | void;
  readonly dispose: () => void;
}

function trainWorkload(): Workload {
  const trainer = createTrainer({
    task: 'copy',
    lr: 0.01,
    optim: 'adam',
    seed: 1,
    summarize_freq: 1e6,
    iterations: 1e6,
  });
  return { run: async () => void (await trainer.step()), dispose: () => trainer.dispose() };
}

function denseWorkload(cells: number): Workload {
  const model = new DNC({
    inputSize: 6,
    hiddenSize: 64,
    numHiddenLayers: 1,
    nrCells: cells,
    cellSize: 32,
    readHeads: 1,
  });
  const x = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([8, 16, 6], 0, 1, 'float32', 1), 0.5), 'float32'));
  const run = () => {
    const { value, grads } = tf.variableGrads(() => {
      const { output, hidden } = model.forward(x as tf.Tensor3D, undefined, { resetExperience: true, training: true });
      model.disposeHidden(hidden);
      return tf.losses.sigmoidCrossEntropy(x, output) as tf.Scalar;
    });
    value.dataSync();
    tf.dispose([value, grads]);
  };
  const dispose = () => {
    model.dispose();
    x.dispose();
  };
  return { run, dispose };
}

function sparseWorkload(kind: 'sam' | 'sdnc', cells: number, indexType?: 'hnsw'): Workload {
  const [batch, steps, cellSize, readHeads, inputSize] = [8, 16, 32, 4, 64];
  const config = { inputSize, memorySize: cells, cellSize, readHeads, sparseReads: 4, temporalReads: 4, indexType };
  const memory = kind === 'sam' ? new SparseAccessMemory(config, 1) : new SparseTemporalMemory(config, 1);
  const xs = Array.from({ length: steps }, (_, t) =>
    tf.variable(tf.randomNormal([batch, inputSize], 0, 1, 'float32', t), true, `profile_x${t}`),
  );
  const projections = Array.from({ length: steps }, (_, t) =>
    tf.randomNormal([batch, readHeads, cellSize], 0, 1, 'float32', 100 + t),
  );
  memory.initialState(batch);
  const cellIds = Int32Array.from({ length: cells }, (_, i) => i);
  for (let b = 0; b < batch; b++)
    memory.seedRows(
      b,
      cellIds,
      Float32Array.from({ length: cells * cellSize }, () => Math.random() * 2 - 1),
    );
  const weights = [...memory.variables.values()];
  const run = () => {
    const { value, grads } = tf.variableGrads(() => {
      let state: SparseMemoryState = memory.initialState(batch);
      let loss: tf.Scalar = tf.scalar(0);
      xs.forEach((x, t) => {
        const result = memory.step(x as tf.Tensor2D, state);
        loss = tf.add(loss, tf.sum(tf.mul(result.readVectors, projections[t])));
        state = result.state;
      });
      return loss;
    }, [...weights, ...xs]);
    value.dataSync();
    tf.dispose([value, grads]);
  };
  const dispose = () => {
    memory.dispose();
    tf.dispose([...xs, ...projections]);
  };
  return { run, dispose };
}

function summarise(profile: CpuProfile, top: number): { byFunction: [string, number][]; byFile: [string, number][] } {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = nodes.get(id)?.callFrame;
    if (frame === undefined) return;
    const delta = profile.timeDeltas[i] ?? 0;
    total += delta;
    const file = frame.url === '' ? '(native)' : frame.url.split('/').slice(-2).join('/');
    const name = `${frame.functionName || '(anonymous)'} ${file}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + delta);
    byFile.set(file, (byFile.get(file) ?? 0) + delta);
  });
  const share = (entries: Map<string, number>) =>
    [...entries]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, value]): [string, number] => [key, Number(((100 * value) / total).toFixed(1))]);
  return { byFunction: share(byFunction), byFile: share(byFile) };
}

async function main(): Promise<void> {
  const name = option('workload', 'train');
  const iterations = Number(option('iterations', '10'));
  const backend = await selectBackend();
  const makers: Record<string, () => Workload> = {
    train: trainWorkload,
    dense64: () => denseWorkload(64),
    dense256: () => denseWorkload(256),
    dense1024: () => denseWorkload(1024),
    sam1k: () => sparseWorkload('sam', 1000),
    sdnc1k: () => sparseWorkload('sdnc', 1000),
    sam1kHnsw: () => sparseWorkload('sam', 1000, 'hnsw'),
    sam64kHnsw: () => sparseWorkload('sam', 64000, 'hnsw'),
    sdnc64kHnsw: () => sparseWorkload('sdnc', 64000, 'hnsw'),
  };
  const make = makers[name];
  if (make === undefined) throw new Error(`--workload must be one of ${Object.keys(makers).join(', ')}, got ${name}`);
  const workload = make();
  for (let i = 0; i < 3; i++) await workload.run();
  const kernels = new Map<string, number>();
  const kernelMs = new Map<string, number>();
  const info = await tf.profile(async () => void (await workload.run()));
  for (const kernel of info.kernels) {
    kernels.set(kernel.name, (kernels.get(kernel.name) ?? 0) + 1);
    const ms = typeof kernel.kernelTimeMs === 'number' ? kernel.kernelTimeMs : 0;
    const shape = kernel.inputShapes.map((s) => `[${s?.join(',')}]`).join('');
    kernelMs.set(`${kernel.name}${shape}`, (kernelMs.get(`${kernel.name}${shape}`) ?? 0) + ms);
  }
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) await workload.run();
  const wallMs = (performance.now() - t0) / iterations;
  const used = process.cpuUsage(cpu0);
  const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
  session.disconnect();
  workload.dispose();
  const out = option('out', '');
  if (out !== '') writeFileSync(out, JSON.stringify(profile));
  const { byFunction, byFile } = summarise(profile, 25);
  console.log(`${name} on ${backend.name}: ${wallMs.toFixed(1)} ms per iteration, ${info.kernels.length} kernels`);
  for (const [key, pct] of byFunction) console.log(`${pct.toFixed(1).padStart(5)} %  ${key}`);
  console.log('by file:');
  for (const [key, pct] of byFile.slice(0, 12)) console.log(`${pct.toFixed(1).padStart(5)} %  ${key}`);
  const topKernels = [...kernels].sort((a, b) => b[1] - a[1]).slice(0, 15);
  console.log(`kernels: ${topKernels.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  const slowKernels = [...kernelMs]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([k, ms]): [string, number] => [k, Number(ms.toFixed(1))]);
  console.log(`kernel ms (one profiled iteration): ${slowKernels.map(([k, ms]) => `${k} ${ms}`).join(', ')}`);
  console.log(
    JSON.stringify({
      bench: 'profile',
      workload: name,
      backend: backend.name,
      loadAverage: loadavg().map((x) => Number(x.toFixed(2))),
      msPerIteration: Number(wallMs.toFixed(1)),
      cpuMsPerIteration: Number(((used.user + used.system) / 1000 / iterations).toFixed(1)),
      kernelsPerIteration: info.kernels.length,
      topKernels,
      slowKernels,
      byFile,
      byFunction,
    }),
  );
}

main().catch((error: unknown) => {
  console.error(`bench:profile: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
