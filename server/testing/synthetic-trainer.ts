/**
 * A synthetic stand-in for the engine's trainer: deterministic loss curve and debug frames of any size, at a chosen
 * wall time per step. The stream benchmark uses it to measure the server alone (frames of 256×256 at 20 Hz without
 * a model that can produce them), and fast tests use it where the training math is beside the point.
 */
import type { DebugFrame, FrameTensor, IterationResult, TrainConfig, Trainer } from '../../engine';

export interface SyntheticOptions {
  /** Memory cells N of the frames (default: config.mem_slot). */
  cells?: number;
  /** Word width W (default: config.mem_size). */
  width?: number;
  /** Timesteps T of the per-step tensors (default 4). */
  timesteps?: number;
  /** Wall time per step in ms, spent waiting on a timer so the thread stays responsive (default 0). */
  stepMs?: number;
}

interface SyntheticCheckpoint {
  kind: 'synthetic';
  iteration: number;
  lr: number;
  summarizeFreq: number;
  config: TrainConfig;
}

export class SyntheticTrainer implements Trainer {
  private currentIteration: number;
  private lr: number;
  private summarizeFreq: number;
  private readonly cells: number;
  private readonly width: number;
  private readonly stepMs: number;
  private readonly timesteps: number;

  constructor(
    readonly config: Readonly<TrainConfig>,
    options: SyntheticOptions = {},
    startIteration = 0,
  ) {
    this.currentIteration = startIteration;
    this.lr = config.lr;
    this.summarizeFreq = config.summarize_freq;
    this.cells = options.cells ?? config.mem_slot;
    this.width = options.width ?? config.mem_size;
    this.stepMs = options.stepMs ?? 0;
    this.timesteps = options.timesteps ?? 4;
  }

  static restore(bytes: Uint8Array, options: SyntheticOptions = {}): SyntheticTrainer {
    const parsed = JSON.parse(Buffer.from(bytes).toString('utf8')) as SyntheticCheckpoint;
    if (parsed.kind !== 'synthetic') throw new Error('SyntheticTrainer.restore: not a synthetic checkpoint');
    const trainer = new SyntheticTrainer(parsed.config, options, parsed.iteration);
    trainer.lr = parsed.lr;
    trainer.summarizeFreq = parsed.summarizeFreq;
    return trainer;
  }

  get iteration(): number {
    return this.currentIteration;
  }

  async step(options: { captureFrame?: boolean } = {}): Promise<IterationResult> {
    const started = performance.now();
    if (this.stepMs > 0) await new Promise((resolve) => setTimeout(resolve, this.stepMs));
    this.currentIteration += 1;
    const iteration = this.currentIteration;
    const capture = options.captureFrame === true || iteration % this.summarizeFreq === 0;
    const result: IterationResult = {
      iteration,
      loss: 1 / (1 + iteration * this.lr * 10),
      metric: 0.5 / (1 + iteration * 0.01),
      metricName: 'bit_error_rate',
      wallMs: performance.now() - started,
      sequenceLength: this.config.sequence_max_length,
    };
    if (capture) result.frame = this.frame(iteration);
    return result;
  }

  setLearningRate(lr: number): void {
    this.lr = lr;
  }

  setSummarizeFreq(n: number): void {
    this.summarizeFreq = n;
  }

  async checkpoint(): Promise<Uint8Array> {
    const state: SyntheticCheckpoint = {
      kind: 'synthetic',
      iteration: this.currentIteration,
      lr: this.lr,
      summarizeFreq: this.summarizeFreq,
      config: { ...this.config },
    };
    return new Uint8Array(Buffer.from(JSON.stringify(state), 'utf8'));
  }

  async test(): Promise<{ metric: number; metricName: string; loss: number }> {
    return {
      metric: 0.5 / (1 + this.currentIteration * 0.01),
      metricName: 'bit_error_rate',
      loss: 1 / (1 + this.currentIteration),
    };
  }

  dispose(): void {}

  /** A frame whose every value encodes (iteration, position), so tests can tell frames apart. */
  private frame(iteration: number): DebugFrame {
    const memory = new Float32Array(this.timesteps * this.cells * this.width);
    for (let i = 0; i < memory.length; i++) memory[i] = Math.sin(iteration * 0.1 + i * 0.01);
    const usage = new Float32Array(this.timesteps * this.cells);
    for (let i = 0; i < usage.length; i++) usage[i] = ((iteration + i) % this.cells) / this.cells;
    const tensors: FrameTensor[] = [
      {
        name: 'memory',
        layer: 0,
        shape: [this.timesteps, this.cells, this.width],
        axes: ['time', 'cell', 'word'],
        data: memory,
      },
      {
        name: 'usage',
        layer: 0,
        shape: [this.timesteps, this.cells],
        axes: ['time', 'cell'],
        data: usage,
        range: [0, 1],
      },
      {
        name: 'iteration',
        layer: 0,
        shape: [1],
        axes: ['value'],
        data: Float32Array.of(iteration),
        description: 'the iteration this frame belongs to',
      },
    ];
    return { timesteps: this.timesteps, tensors };
  }
}
