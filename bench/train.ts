/**
 * Training throughput of the whole loop (`Trainer.step`: batch generation, forward + backward, one-readout
 * NaN/Inf check, gradient clipping, Adam update) on pytorch-dnc's copy-task configuration: batch 100, N 16,
 * W 20, R 4, LSTM hidden 64 with 2 hidden layers, sequences of 1–4 items, Adam lr 0.01 — on the backend
 * `selectBackend()` picks (`ENGRAM_BACKEND` overrides).
 *
 *   npm run bench:train [-- --iterations 30 --warmup 3 --max_seconds 120]
 *
 * Prints one line per timed iteration and, as the last line, a JSON summary (it/s, ms per iteration: mean,
 * median, p90; CPU ms median). Debug-frame capture is off (summarize_freq above the run length) and timed separately
 * once.
 *
 * With `PYTORCH_DNC_ROOT` set (a pytorch-dnc checkout; see bench/pytorch-dnc/README.md), pytorch-dnc's own copy
 * task runs side by side: `--rounds` rounds (default 3), each timing Engram for `--iterations` iterations, then
 * pytorch-dnc at its default thread count, then at one thread (`--python` picks the interpreter, default
 * /usr/bin/python3). The headline is Engram's median it/s over the faster pytorch-dnc's (`ratioVsFasterPytorch`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../engine/backend';
import { createTrainer } from '../engine/training/trainer';

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`bench:train: --${name} needs a positive number, got ${process.argv[index + 1]}`);
  return value;
}

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * One timed run of pytorch-dnc's copy task with its defaults and Adam lr 0.01 (as Engram's side), through the
 * shimmed runner; `threads` null leaves torch's default thread count. Returns its steady iterations per second.
 */
function pytorchItPerSecond(root: string, threads: number | null, iterations: number): number {
  const python = process.argv.includes('--python')
    ? process.argv[process.argv.indexOf('--python') + 1]
    : '/usr/bin/python3';
  const dir = mkdtempSync(join(tmpdir(), 'engram-bench-train-'));
  const out = join(dir, 'pytorch.json');
  const env: NodeJS.ProcessEnv = { ...process.env, PYTORCH_DNC_ROOT: root };
  delete env.OMP_NUM_THREADS;
  if (threads !== null) env.OMP_NUM_THREADS = String(threads);
  const args = ['run_copy_task_shimmed.py', '--json', out, '--', '--optim', 'adam', '--lr', '0.01'];
  args.push('--iterations', String(iterations + 6), '--check_freq', '1000000', '--summarize_freq', '1000000');
  const run = spawnSync(python, args, { cwd: join(__dirname, 'pytorch-dnc'), env, encoding: 'utf8' });
  try {
    if (run.status !== 0)
      throw new Error(`bench:train: pytorch-dnc exited with ${run.status}: ${(run.stderr ?? '').slice(-600)}`);
    const result = JSON.parse(readFileSync(out, 'utf8')) as { iterations_per_second: number };
    return result.iterations_per_second;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Engram's it/s over `iterations` more steps of `trainer` (wall clock, whole `Trainer.step`). */
async function engramItPerSecond(trainer: ReturnType<typeof createTrainer>, iterations: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < iterations; i++) await trainer.step();
  return iterations / ((performance.now() - started) / 1000);
}

/** Rounds of Engram, pytorch-dnc (default threads), pytorch-dnc (one thread), alternating; medians and the ratio. */
async function sideBySide(root: string, backendName: string): Promise<void> {
  const rounds = flag('rounds', 3);
  const iterations = flag('iterations', 30);
  const config = { task: 'copy', lr: 0.01, optim: 'adam', seed: 1, summarize_freq: 1_000_000, iterations: 1_000_000 };
  const trainer = createTrainer(config);
  for (let i = 0; i < flag('warmup', 3); i++) await trainer.step();
  const sides = { engram: [] as number[], pytorchDefaultThreads: [] as number[], pytorchOneThread: [] as number[] };
  for (let round = 1; round <= rounds; round++) {
    sides.engram.push(await engramItPerSecond(trainer, iterations));
    sides.pytorchDefaultThreads.push(pytorchItPerSecond(root, null, iterations));
    sides.pytorchOneThread.push(pytorchItPerSecond(root, 1, iterations));
    console.log(
      `round ${round}: engram ${sides.engram.at(-1)?.toFixed(2)} it/s, pytorch-dnc default threads ` +
        `${sides.pytorchDefaultThreads.at(-1)?.toFixed(2)}, one thread ${sides.pytorchOneThread.at(-1)?.toFixed(2)} ` +
        `(load ${loadavg()[0].toFixed(2)})`,
    );
  }
  trainer.dispose();
  const medians = {
    engram: Number(median(sides.engram).toFixed(3)),
    pytorchDefaultThreads: Number(median(sides.pytorchDefaultThreads).toFixed(3)),
    pytorchOneThread: Number(median(sides.pytorchOneThread).toFixed(3)),
  };
  const faster = Math.max(medians.pytorchDefaultThreads, medians.pytorchOneThread);
  const ratio = Number((medians.engram / faster).toFixed(3));
  console.log(`engram ${medians.engram} it/s vs the faster pytorch-dnc ${faster} it/s: ${ratio}×`);
  console.log(
    JSON.stringify({
      bench: 'train',
      sideBySide: true,
      backend: backendName,
      config: 'copy: batch 100, N 16, W 20, R 4, lstm 64x2, lengths 1-4, adam lr 0.01',
      rounds,
      iterationsPerRound: iterations,
      itPerSecond: sides,
      medianItPerSecond: medians,
      ratioVsFasterPytorch: ratio,
      loadAverage: loadavg().map((x) => Number(x.toFixed(2))),
    }),
  );
}

async function main(): Promise<void> {
  const iterations = flag('iterations', 30);
  const warmup = flag('warmup', 3);
  const maxSeconds = flag('max_seconds', 120);
  const backend = await selectBackend();
  const pytorchRoot = process.env.PYTORCH_DNC_ROOT;
  if (pytorchRoot !== undefined && pytorchRoot !== '') return sideBySide(pytorchRoot, backend.name);
  const config = { task: 'copy', lr: 0.01, optim: 'adam', seed: 1, summarize_freq: 1_000_000, iterations: 1_000_000 };
  const trainer = createTrainer(config);
  for (let i = 0; i < warmup; i++) await trainer.step();
  const times: number[] = [];
  const cpuTimes: number[] = [];
  const started = performance.now();
  while (times.length < iterations && (performance.now() - started) / 1000 < maxSeconds) {
    const cpu0 = process.cpuUsage();
    const result = await trainer.step();
    const used = process.cpuUsage(cpu0);
    cpuTimes.push((used.user + used.system) / 1000);
    times.push(result.wallMs);
    console.log(
      `iteration ${result.iteration}: ${result.wallMs.toFixed(1)} ms (length ≤ ${result.sequenceLength}), loss ` +
        `${result.loss.toFixed(4)}`,
    );
  }
  const seconds = (performance.now() - started) / 1000;
  const captured = await trainer.step({ captureFrame: true });
  const sorted = [...times].sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const summary = {
    bench: 'train',
    backend: backend.name,
    config: 'copy: batch 100, N 16, W 20, R 4, lstm 64x2, lengths 1-4, adam lr 0.01',
    iterations: times.length,
    seconds: Number(seconds.toFixed(2)),
    itPerSecond: Number((times.length / seconds).toFixed(3)),
    msPerIteration: {
      mean: Number(mean.toFixed(1)),
      median: Number(percentile(sorted, 0.5).toFixed(1)),
      p90: Number(percentile(sorted, 0.9).toFixed(1)),
    },
    // CPU time of this process per iteration (median): steadier than wall time on a shared, loaded machine.
    cpuMsPerIterationMedian: Number(
      percentile(
        [...cpuTimes].sort((a, b) => a - b),
        0.5,
      ).toFixed(1),
    ),
    msCapturedIteration: Number(captured.wallMs.toFixed(1)),
    numTensors: tf.memory().numTensors,
  };
  trainer.dispose();
  console.log(
    `${summary.itPerSecond} it/s on ${summary.backend} (median ${summary.msPerIteration.median} ms; with a debug ` +
      `frame ${summary.msCapturedIteration} ms)`,
  );
  console.log(JSON.stringify(summary));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
