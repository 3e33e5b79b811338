/**
 * Milliseconds per forward+backward iteration of the whole DNC (controller, memory, output, BCE-with-logits loss,
 * gradients of every variable; no optimizer update) on the backend `selectBackend()` picks (`ENGRAM_BACKEND`
 * overrides), for:
 *  - pytorch-dnc's copy-task default: batch 100, N 16, W 20, R 4, LSTM hidden 64 with 2 hidden layers, input 6
 *    (the copy task's `input_size`: 5 data bits + 1 end marker), sequence length 9 (2·4+1 for
 *    `sequence_max_length` 4);
 *  - memory scaling, N ∈ {16, 64, 256, 1024}: batch 8, 16 steps, W 32, R 1, LSTM hidden 64 with 1 hidden layer,
 *    input 6 — the settings of bench/pytorch-dnc/mem_scaling.py, so the two can be compared.
 *
 *   npm run bench:engine [-- --configs copy,N16,N64 --repeats 5 --debug --plain-lstm --backend webgpu]
 *
 * `--backend NAME` overrides `ENGRAM_BACKEND` (e.g. `webgpu`; a software adapter such as lavapipe is then flagged
 * in the summary as a correctness run, never a speed figure). Every iteration ends with an asynchronous read of
 * the loss, so a GPU backend is timed to completion; on webgpu the summary adds the GPU memory tfjs holds.
 *
 * Per config: 2 warm-up iterations, then the median of `--repeats` timed ones, wall and CPU time (forward-only is
 * timed too);
 * kernels per iteration counted once with tf.profile; heap and RSS after the config, and the process's peak RSS so
 * far (`maxRSS`: the figure pytorch-dnc's `mem_scaling.py` reports, so the two compare like with like; it covers
 * every config run before, so bench the big one alone). `--debug` also times a
 * forward with debug frames; `--plain-lstm` runs the LSTM gates as plain tfjs ops instead of the fused cell (A/B).
 * Prints a table and, as the last line, a JSON summary.
 */
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { chooseBackend, releaseBackend } from '../engine/backend';
import { fusedLstmCellMode, setFusedLstmCell } from '../engine/controller/fused-lstm-cell';
import { DNC, type DNCOptions } from '../engine/dnc';

interface BenchConfig {
  readonly name: string;
  readonly batch: number;
  readonly steps: number;
  readonly options: DNCOptions;
}

const COPY_TASK: BenchConfig = {
  name: 'copy',
  batch: 100,
  steps: 9,
  options: { inputSize: 6, hiddenSize: 64, numHiddenLayers: 2, nrCells: 16, cellSize: 20, readHeads: 4, seed: 1 },
};

const SCALING: BenchConfig[] = [16, 64, 256, 1024].map((cells) => ({
  name: `N${cells}`,
  batch: 8,
  steps: 16,
  options: { inputSize: 6, hiddenSize: 64, numHiddenLayers: 1, nrCells: cells, cellSize: 32, readHeads: 1, seed: 1 },
}));

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && index + 1 < process.argv.length ? process.argv[index + 1] : fallback;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Random 0/1 bits, as the copy task feeds, drawn on the host: on webgpu a bool → float32 cast only relabels the
 * integer buffer (tfjs 4.22), and a transpose of it then fails to compile.
 */
function bits(shape: [number, number, number], seed: number): tf.Tensor3D {
  let state = seed >>> 0 || 1;
  const values = Float32Array.from({ length: shape[0] * shape[1] * shape[2] }, () => {
    // xorshift32: enough for benchmark inputs, and the same on every backend.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32 < 0.5 ? 0 : 1;
  });
  return tf.tensor3d(values, shape);
}

interface Result {
  name: string;
  batch: number;
  steps: number;
  nrCells: number;
  cellSize: number;
  readHeads: number;
  hiddenSize: number;
  numHiddenLayers: number;
  parameters: number;
  /** Absent when the iteration failed (see `error`). */
  forwardBackwardMs?: number;
  /** CPU milliseconds of this process per forward+backward (median); steadier than wall time under load. */
  forwardBackwardCpuMs?: number;
  forwardMs: number;
  forwardDebugMs?: number;
  msPerTimestep?: number;
  kernelsPerIteration?: number;
  /** Why forward+backward could not run (e.g. the wasm heap's 4 GB limit with the tape of a large memory). */
  error?: string;
  repeats: number;
  heapUsedMb: number;
  rssMb: number;
  /** Peak RSS of the process so far (`process.resourceUsage().maxRSS`), this config and every one before it. */
  maxRssMb: number;
  tfjsMb: number;
  /** GPU memory tfjs holds after the config (webgpu only). */
  gpuMb?: number;
}

/** Median wall and CPU (user + system of this process) milliseconds per run. CPU time is the steadier figure on a
 * shared, loaded machine: other processes stretch the wall clock, not our CPU time. */
async function timeMs(run: () => Promise<void>, repeats: number): Promise<{ wall: number; cpu: number }> {
  await run();
  await run();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await run();
    wall.push(performance.now() - t0);
    const used = process.cpuUsage(cpu0);
    cpu.push((used.user + used.system) / 1000);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

async function benchOne(config: BenchConfig, repeats: number, withDebug: boolean): Promise<Result> {
  const model = new DNC(config.options);
  const x = bits([config.batch, config.steps, config.options.inputSize], 1);
  const target = bits([config.batch, config.steps, config.options.inputSize], 2);
  const loss = () => {
    const { output, hidden } = model.forward(x, undefined, { resetExperience: true, training: true });
    model.disposeHidden(hidden);
    // binary_cross_entropy_with_logits, mean over all elements (pytorch-dnc's copy-task criterion).
    return tf.losses.sigmoidCrossEntropy(target, output) as tf.Scalar;
  };
  const iteration = async () => {
    const { value, grads } = tf.variableGrads(loss);
    await value.data();
    tf.dispose([value, grads]);
  };
  const forward = async () => {
    const { output, hidden } = model.forward(x);
    await output.data();
    output.dispose();
    model.disposeHidden(hidden);
  };
  // Forward first: when forward+backward exhausts the backend's memory, the forward figure is still recorded.
  const forwardMs = (await timeMs(forward, repeats)).wall;
  let forwardDebugMs: number | undefined;
  if (withDebug) {
    const debugModel = new DNC({ ...config.options, debug: true });
    forwardDebugMs = (
      await timeMs(async () => {
        const { output, hidden, pendingDebug } = debugModel.forward(x, undefined, { deferDebugReadout: true });
        if (pendingDebug !== undefined) pendingDebug.resolve(Float32Array.from(await pendingDebug.values.data()));
        tf.dispose([output, ...(pendingDebug === undefined ? [] : [pendingDebug.values])]);
        debugModel.disposeHidden(hidden);
      }, repeats)
    ).wall;
    debugModel.dispose();
  }
  let forwardBackwardMs: number | undefined;
  let forwardBackwardCpuMs: number | undefined;
  let kernelsPerIteration: number | undefined;
  let error: string | undefined;
  try {
    ({ wall: forwardBackwardMs, cpu: forwardBackwardCpuMs } = await timeMs(iteration, repeats));
    // One profiled iteration: every kernel the forward, the loss and the backward dispatch.
    kernelsPerIteration = (await tf.profile(() => iteration())).kernels.length;
  } catch (caught) {
    error = caught instanceof Error ? caught.message.split('\n')[0] : String(caught);
  }
  const memory = process.memoryUsage();
  const parameters = [...model.variables.values()].reduce((n, v) => n + v.size, 0);
  const result: Result = {
    name: config.name,
    batch: config.batch,
    steps: config.steps,
    nrCells: config.options.nrCells ?? 5,
    cellSize: config.options.cellSize ?? 10,
    readHeads: config.options.readHeads ?? 2,
    hiddenSize: config.options.hiddenSize,
    numHiddenLayers: config.options.numHiddenLayers ?? 2,
    parameters,
    forwardBackwardMs,
    forwardBackwardCpuMs,
    forwardMs,
    forwardDebugMs,
    msPerTimestep: forwardBackwardMs === undefined ? undefined : forwardBackwardMs / config.steps,
    kernelsPerIteration,
    error,
    repeats,
    heapUsedMb: memory.heapUsed / 2 ** 20,
    rssMb: memory.rss / 2 ** 20,
    // maxRSS is in kibibytes.
    maxRssMb: process.resourceUsage().maxRSS / 2 ** 10,
    tfjsMb: tf.memory().numBytes / 2 ** 20,
    ...gpuMemory(),
  };
  if (error === undefined) {
    tf.dispose([x, target]);
    model.dispose();
  }
  return result;
}

/** The GPU memory tfjs holds (webgpu reports `numBytesInGPUAllocated`), when the backend has any. */
function gpuMemory(): { gpuMb?: number } {
  const info = tf.memory() as tf.MemoryInfo & { numBytesInGPUAllocated?: number };
  return info.numBytesInGPUAllocated === undefined ? {} : { gpuMb: info.numBytesInGPUAllocated / 2 ** 20 };
}

async function main(): Promise<void> {
  const backendFlag = option('backend', '');
  const choice = await chooseBackend({
    env: backendFlag === '' ? process.env : { ...process.env, ENGRAM_BACKEND: backendFlag },
  });
  const wanted = option('configs', 'all');
  const repeats = Number(option('repeats', '5'));
  if (!Number.isInteger(repeats) || repeats < 1)
    throw new Error(`--repeats must be a positive integer, got ${option('repeats', '')}`);
  const all = [COPY_TASK, ...SCALING];
  const configs = wanted === 'all' ? all : all.filter((c) => wanted.split(',').includes(c.name));
  if (configs.length === 0) throw new Error(`--configs matched nothing; known: ${all.map((c) => c.name).join(', ')}`);
  const withDebug = process.argv.includes('--debug');
  if (process.argv.includes('--plain-lstm')) setFusedLstmCell('off');
  const results: Result[] = [];
  for (const config of configs) {
    // Fewer repeats where one iteration takes seconds; the median of 3 is still robust to one outlier.
    const plain = await benchOne(
      config,
      config.options.nrCells !== undefined && config.options.nrCells >= 1024 ? Math.min(repeats, 3) : repeats,
      withDebug,
    );
    results.push(plain);
    const fixed = (value: number | undefined, digits: number, width: number) =>
      (value === undefined ? '—' : value.toFixed(digits)).padStart(width);
    console.log(
      `${plain.name.padEnd(6)} B${String(plain.batch).padEnd(4)} T${String(plain.steps).padEnd(3)} ` +
        `N${String(plain.nrCells).padEnd(5)} W${String(plain.cellSize).padEnd(3)} R${plain.readHeads} ` +
        `fwd+bwd ${fixed(plain.forwardBackwardMs, 1, 8)} ms (cpu ${fixed(plain.forwardBackwardCpuMs, 1, 6)} ms)  fwd ` +
        `${fixed(plain.forwardMs, 1, 7)} ms` +
        `${plain.forwardDebugMs === undefined ? '' : `  fwd+debug ${fixed(plain.forwardDebugMs, 1, 7)} ms`}  ` +
        `${fixed(plain.msPerTimestep, 2, 7)} ms/step  ${String(plain.kernelsPerIteration ?? '—').padStart(6)} ` +
        `kernels  ` +
        `heap ${plain.heapUsedMb.toFixed(0)} MB  rss ${plain.rssMb.toFixed(0)} MB  ` +
        `peak rss ${plain.maxRssMb.toFixed(0)} MB${plain.error === undefined ? '' : `  error: ${plain.error}`}`,
    );
    // A wasm abort leaves the module unusable: later configs would only fail the same way.
    if (plain.error !== undefined) break;
  }
  const loadAverage = loadavg()[0];
  console.log(
    JSON.stringify({
      bench: 'engine',
      backend: choice.name,
      ...(choice.adapter === undefined
        ? {}
        : {
            adapter: choice.adapter,
            // lavapipe runs the kernels on the CPU: such a run checks that the engine works, it measures nothing.
            speed: choice.adapter.software ? 'not a speed figure: software adapter (correctness run)' : 'gpu',
          }),
      fusedLstmCell: fusedLstmCellMode(),
      node: process.version,
      loadAverage1m: loadAverage,
      unit: 'ms per iteration (median)',
      results,
    }),
  );
}

main()
  .catch((error: unknown) => {
    console.error(`bench:engine: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  })
  .finally(releaseBackend);
