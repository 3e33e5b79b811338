/**
 * `npm run train`: trains a DNC (Graves et al. 2016) on one of the algorithmic tasks from the command line,
 * the way pytorch-dnc's `tasks/*.py` scripts do — same flags, same defaults — with a progress bar on a terminal
 * (or one JSON line per iteration with `--json`), atomic checkpoints, `--resume`, and the test phase on longer
 * sequences at the end. The loop itself is the engine's `Trainer`; this file is only the shell around it.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chooseBackend, releaseBackend } from '../backend';
import { loadCheckpointFile, saveCheckpointFile } from '../training/checkpoint-file';
import { CheckpointError } from '../training/checkpoint-format';
import { createTrainer, restoreTrainer, type TrainerSession } from '../training/trainer';
import { ConfigError, NonFiniteError, type IterationResult } from '../training/types';
import { StreamClient } from './stream-client';
import { LATEST_CHECKPOINT, parseTrainArgs, trainUsage, type TrainCommand } from './train-args';

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** Progress output: a redrawn bar on a TTY, plain summary lines otherwise, JSON lines with --json. */
class Reporter {
  private readonly tty: boolean;
  private readonly started = performance.now();
  private lastDraw = 0;
  private windowLoss = 0;
  private windowMetric = 0;
  private windowCount = 0;

  constructor(
    private readonly json: boolean,
    private readonly startIteration: number,
    private readonly totalIterations: number,
  ) {
    this.tty = !json && process.stdout.isTTY === true;
  }

  iteration(result: IterationResult, summarizeFreq: number): void {
    this.windowLoss += result.loss;
    this.windowMetric += result.metric;
    this.windowCount += 1;
    if (this.json) {
      const { frame: _frame, ...line } = result;
      process.stdout.write(`${JSON.stringify(line)}\n`);
      return;
    }
    const summarize = result.iteration % summarizeFreq === 0;
    if (this.tty) {
      const now = performance.now();
      if (summarize || result.iteration === this.totalIterations || now - this.lastDraw > 100) {
        this.lastDraw = now;
        process.stdout.write(`\r${this.bar(result)}\x1b[K`);
      }
    }
    if (summarize) {
      const line =
        `iteration ${result.iteration}/${this.totalIterations}: avg loss ` +
        `${(this.windowLoss / this.windowCount).toFixed(4)}, ` +
        `${result.metricName} ${(this.windowMetric / this.windowCount).toFixed(4)} (last ${this.windowCount}), ` +
        `length ≤ ${result.sequenceLength}`;
      process.stdout.write(this.tty ? `\r${line}\x1b[K\n${this.bar(result)}` : `${line}\n`);
      this.windowLoss = 0;
      this.windowMetric = 0;
      this.windowCount = 0;
    }
  }

  private bar(result: IterationResult): string {
    const done = result.iteration - this.startIteration;
    const seconds = (performance.now() - this.started) / 1000;
    const rate = done / Math.max(seconds, 1e-9);
    const remaining = (this.totalIterations - result.iteration) / rate;
    const width = 24;
    const filled = Math.round((width * result.iteration) / this.totalIterations);
    return (
      `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${result.iteration}/${this.totalIterations} ` +
      `${rate.toFixed(2)} it/s loss ${result.loss.toFixed(4)} ${result.metricName} ${result.metric.toFixed(4)} ETA ` +
      `${formatDuration(remaining)}`
    );
  }

  note(message: string): void {
    if (this.json) process.stderr.write(`${message}\n`);
    else process.stdout.write(`${this.tty ? '\r\x1b[K' : ''}${message}\n`);
  }

  elapsedSeconds(): number {
    return (performance.now() - this.started) / 1000;
  }
}

async function openTrainer(command: Extract<TrainCommand, { kind: 'run' }>): Promise<TrainerSession> {
  if (command.resume === undefined) return createTrainer(command.config);
  const path = command.resume === true ? join(command.checkpointDir ?? '.', LATEST_CHECKPOINT) : command.resume;
  const bytes = await loadCheckpointFile(path);
  return restoreTrainer(bytes, { overrides: command.fields });
}

/** `--stream URL [--token T]`: take the streaming flags out before the trainer's own flags are parsed. */
function splitStreamArgs(argv: readonly string[]): { rest: string[]; url?: string; token?: string } {
  const rest: string[] = [];
  let url: string | undefined;
  let token: string | undefined = process.env.ENGRAM_TOKEN || undefined;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    if (flag !== '--stream' && flag !== '--token') {
      rest.push(argv[i]);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || value.startsWith('--')) throw new ConfigError(flag, 'needs a value');
    if (flag === '--stream') url = value;
    else token = value;
  }
  return { rest, url, token };
}

async function main(argv: readonly string[]): Promise<number> {
  let command: TrainCommand;
  let streamArgs: ReturnType<typeof splitStreamArgs>;
  try {
    streamArgs = splitStreamArgs(argv);
    command = parseTrainArgs(streamArgs.rest);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`train: ${error.message}\nRun with --help for the flags.\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
  if (command.kind === 'help') {
    process.stdout.write(`${trainUsage()}\n`);
    return 0;
  }

  // Diagnostics go to stderr so that stdout stays pure JSON lines under --json. One choice per process.
  await chooseBackend({ log: (line) => process.stderr.write(`${line}\n`) });
  let trainer: TrainerSession;
  try {
    trainer = await openTrainer(command);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`train: ${message}\n`);
    return error instanceof ConfigError ? EXIT_USAGE : EXIT_FAILED;
  }

  const config = trainer.config;
  const reporter = new Reporter(command.json, trainer.iteration, config.iterations);
  const startIteration = trainer.iteration;
  reporter.note(
    `train: ${config.task} on a ${config.memory_type.toUpperCase()} (N ${config.mem_slot}, W ${config.mem_size}, R ` +
      `${config.read_heads}, ` +
      `${config.rnn_type} ${config.nhid}×${config.nhlayer}), ${config.optim} lr ${trainer.learningRate}, batch ` +
      `${config.batch_size}, ` +
      `${startIteration > 0 ? `resuming at iteration ${startIteration}, ` : ''}${config.iterations} iterations`,
  );
  if (command.checkpointDir !== undefined) await mkdir(command.checkpointDir, { recursive: true });
  const save = async () => {
    if (command.checkpointDir === undefined) return;
    await saveCheckpointFile(join(command.checkpointDir, LATEST_CHECKPOINT), await trainer.checkpoint());
  };

  let stream: StreamClient | null = null;
  if (streamArgs.url !== undefined) {
    try {
      stream = await StreamClient.open(streamArgs.url, streamArgs.token, `train ${config.task}`, { ...config });
    } catch (error) {
      process.stderr.write(`train: --stream ${streamArgs.url}: ${error instanceof Error ? error.message : error}\n`);
      trainer.dispose();
      return EXIT_FAILED;
    }
    reporter.note(`train: streaming into ${streamArgs.url}/runs/${stream.runId}`);
  }

  let stopRequested = false;
  let stoppedFromBrowser = false;
  const onInterrupt = () => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    reporter.note('train: stopping after this iteration (Ctrl-C again to abort without saving)');
  };
  process.on('SIGINT', onInterrupt);

  let exitCode = 0;
  let lastLoss = Number.NaN;
  let lastMetric = Number.NaN;
  let metricName = trainer.task.metricName;
  try {
    while (trainer.iteration < config.iterations && !stopRequested) {
      if (stream !== null) {
        // Blocks while the run is paused in the browser; "step n" lets exactly n iterations through.
        if (!(await stream.wait())) {
          stoppedFromBrowser = true;
          reporter.note('train: stopped from the browser');
          break;
        }
        if (stream.lr !== null && stream.lr !== trainer.learningRate) trainer.setLearningRate(stream.lr);
      }
      const result = await trainer.step();
      if (stream !== null) await stream.send(result);
      lastLoss = result.loss;
      lastMetric = result.metric;
      metricName = result.metricName;
      reporter.iteration(result, trainer.summarizeFreq);
      if (result.iteration % config.check_freq === 0) await save();
    }
    await save();
  } catch (error) {
    if (error instanceof NonFiniteError || error instanceof CheckpointError) {
      reporter.note(`train: ${error.message}`);
      exitCode = EXIT_FAILED;
    } else {
      throw error;
    }
  } finally {
    process.off('SIGINT', onInterrupt);
  }

  const seconds = reporter.elapsedSeconds();
  const iterationsRun = trainer.iteration - startIteration;
  const summary: Record<string, unknown> = {
    iterations: trainer.iteration,
    iterationsThisRun: iterationsRun,
    seconds: Number(seconds.toFixed(3)),
    itPerSecond: Number((iterationsRun / Math.max(seconds, 1e-9)).toFixed(3)),
    lastLoss,
    lastMetric,
    metricName,
  };
  if (exitCode === 0 && iterationsRun > 0) {
    const test = await trainer.test();
    summary.test = { ...test, lengthFactor: trainer.task.testLengthFactor };
    reporter.note(
      `test phase (lengths up to ${trainer.task.testLengthFactor}× the training bound): loss ` +
        `${test.loss.toFixed(4)}, ${test.metricName} ${test.metric.toFixed(4)}`,
    );
  }
  if (command.checkpointDir !== undefined) summary.checkpoint = join(command.checkpointDir, LATEST_CHECKPOINT);
  if (stream !== null && !stoppedFromBrowser) await stream.close(exitCode === 0 ? 'finished' : 'failed');
  if (command.json) process.stdout.write(`${JSON.stringify({ summary })}\n`);
  else {
    reporter.note(
      `done: ${trainer.iteration} iterations (${iterationsRun} this run) in ${formatDuration(seconds)}, ` +
        `${(iterationsRun / Math.max(seconds, 1e-9)).toFixed(2)} it/s; last loss ${lastLoss.toFixed(4)}, ` +
        `${metricName} ${lastMetric.toFixed(4)}` +
        (command.checkpointDir !== undefined ? `; checkpoint ${summary.checkpoint}` : ''),
    );
  }
  trainer.dispose();
  return exitCode;
}

main(process.argv.slice(2))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`train: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = EXIT_FAILED;
    },
  )
  // Dawn (webgpu) holds the event loop open until it is released.
  .finally(releaseBackend);
