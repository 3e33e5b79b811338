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
 */
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

async function main(): Promise<void> {
  const iterations = flag('iterations', 30);
  const warmup = flag('warmup', 3);
  const maxSeconds = flag('max_seconds', 120);
  const backend = await selectBackend();
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
