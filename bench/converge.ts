/**
 * Convergence of the copy task with pytorch-dnc's defaults (batch 100, N 16, W 20, R 4, LSTM hidden 64 with 2
 * hidden layers, sequences of 1–4 items, clip 50) and Adam at lr 0.01, for seeds 1, 2, 3: the iteration at
 * which the trailing-100 mean bit error rate (answer phase) first falls below 1%. Each seed stops at the
 * iteration cap or the time cap, whichever comes first, and says which; a capped seed reports `null`.
 *
 *   npm run bench:converge [-- --seeds 1,2,3 --max_iterations 3000 --max_seconds 900 --threshold 0.01]
 *
 * Prints progress every 100 iterations and, as the last line, a JSON summary.
 */
import { selectBackend } from '../engine/backend';
import { createTrainer } from '../engine/training/trainer';

const WINDOW = 100;

function flag(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index < 0 ? fallback : (process.argv[index + 1] ?? '');
}

function positive(name: string, fallback: number): number {
  const value = Number(flag(name, String(fallback)));
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`bench:converge: --${name} needs a positive number, got ${flag(name, '')}`);
  return value;
}

interface SeedResult {
  seed: number;
  convergedAt: number | null;
  iterations: number;
  seconds: number;
  stoppedBy: 'converged' | 'iteration cap' | 'time cap';
  finalTrailingBitError: number;
  finalTrailingLoss: number;
}

async function runSeed(
  seed: number,
  maxIterations: number,
  maxSeconds: number,
  threshold: number,
): Promise<SeedResult> {
  const trainer = createTrainer({
    task: 'copy',
    lr: 0.01,
    optim: 'adam',
    seed,
    summarize_freq: 1_000_000,
    iterations: maxIterations,
  });
  const errors: number[] = [];
  const losses: number[] = [];
  const started = performance.now();
  let trailing = Number.NaN;
  let trailingLoss = Number.NaN;
  let stoppedBy: SeedResult['stoppedBy'] = 'iteration cap';
  try {
    while (trainer.iteration < maxIterations) {
      if ((performance.now() - started) / 1000 > maxSeconds) {
        stoppedBy = 'time cap';
        break;
      }
      const result = await trainer.step();
      errors.push(result.metric);
      losses.push(result.loss);
      if (errors.length > WINDOW) {
        errors.shift();
        losses.shift();
      }
      trailing = errors.reduce((a, b) => a + b, 0) / errors.length;
      trailingLoss = losses.reduce((a, b) => a + b, 0) / losses.length;
      if (result.iteration % 100 === 0) {
        const seconds = (performance.now() - started) / 1000;
        console.log(
          `seed ${seed} iteration ${result.iteration}: trailing-${WINDOW} bit error ${trailing.toFixed(4)}, loss ` +
            `${trailingLoss.toFixed(4)} (${(result.iteration / seconds).toFixed(2)} it/s)`,
        );
      }
      if (errors.length === WINDOW && trailing < threshold) {
        stoppedBy = 'converged';
        break;
      }
    }
  } finally {
    trainer.dispose();
  }
  return {
    seed,
    convergedAt: stoppedBy === 'converged' ? trainer.iteration : null,
    iterations: trainer.iteration,
    seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
    stoppedBy,
    finalTrailingBitError: Number(trailing.toFixed(5)),
    finalTrailingLoss: Number(trailingLoss.toFixed(5)),
  };
}

async function main(): Promise<void> {
  const seeds = flag('seeds', '1,2,3')
    .split(',')
    .map((s) => Number(s));
  if (seeds.some((s) => !Number.isSafeInteger(s) || s < 0))
    throw new Error(`bench:converge: --seeds must be integers, got ${flag('seeds', '')}`);
  const maxIterations = positive('max_iterations', 3000);
  const maxSeconds = positive('max_seconds', 900);
  const threshold = positive('threshold', 0.01);
  const backend = await selectBackend();
  const results: SeedResult[] = [];
  const outcome = (result: Awaited<ReturnType<typeof runSeed>>): string =>
    result.convergedAt === null ? `not converged (${result.stoppedBy})` : `converged at ${result.convergedAt}`;
  for (const seed of seeds) {
    const result = await runSeed(seed, maxIterations, maxSeconds, threshold);
    console.log(
      `seed ${seed}: ${outcome(result)} ` +
        `after ${result.iterations} iterations, ${result.seconds} s; trailing bit error ` +
        `${result.finalTrailingBitError}`,
    );
    results.push(result);
  }
  console.log(
    JSON.stringify({
      bench: 'converge',
      backend: backend.name,
      config: 'copy: batch 100, N 16, W 20, R 4, lstm 64x2, lengths 1-4, adam lr 0.01, clip 50',
      criterion: `first iteration with trailing-${WINDOW} mean bit error < ${threshold}`,
      maxIterations,
      maxSecondsPerSeed: maxSeconds,
      results,
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
