/**
 * The training contract shared by the `train` CLI and the server's run workers. Config field names are the
 * `train` command's flag names (pytorch-dnc's copy-task flags, snake_case), so a run config posted to the
 * server and a command line mean the same thing.
 */
import type { DebugFrame } from '../frames';

export type TaskName = 'copy' | 'repeat-copy' | 'associative-recall' | 'adding' | 'argmax';
export type OptimizerName = 'adam' | 'adamax' | 'rmsprop' | 'sgd' | 'adagrad' | 'adadelta';
export type MemoryTypeName = 'dnc' | 'sam' | 'sdnc';
export type RnnTypeName = 'lstm' | 'gru' | 'rnn';

/** One training run's configuration. Omitted fields take pytorch-dnc's copy-task defaults. */
export interface TrainConfig {
  task: TaskName;
  rnn_type: RnnTypeName;
  /** Controller hidden size. */
  nhid: number;
  dropout: number;
  memory_type: MemoryTypeName;
  /** Number of DNC layers (numLayers). */
  nlayer: number;
  /** Controller hidden layers per DNC layer (numHiddenLayers). */
  nhlayer: number;
  lr: number;
  optim: OptimizerName;
  /** Gradient-norm clipping threshold. */
  clip: number;
  batch_size: number;
  /** W: memory cell width. */
  mem_size: number;
  /** N: number of memory cells. */
  mem_slot: number;
  /** R: read heads. */
  read_heads: number;
  /** K: sparse reads (SAM/SDNC). */
  sparse_reads: number;
  /** K_L: temporal reads (SDNC). */
  temporal_reads: number;
  sequence_max_length: number;
  curriculum_increment: number;
  curriculum_freq: number;
  iterations: number;
  summarize_freq: number;
  check_freq: number;
  seed: number;
  /** Task-specific: bits per item for copy-like tasks, repeats for repeat-copy, etc. */
  input_size?: number;
  repeats?: number;
}

/** What one training iteration reports. */
export interface IterationResult {
  /** 1-based index of the iteration just completed. */
  iteration: number;
  loss: number;
  /** The task's metric value (e.g. bit error rate for copy). */
  metric: number;
  metricName: string;
  /** Wall time of this iteration in milliseconds. */
  wallMs: number;
  /** Current sequence length bound (curriculum). */
  sequenceLength: number;
  /** Present every `summarize_freq` iterations or when asked: the memory's debug frame for batch element 0 plus
   *  `input`, `target` and `output` tensors `[time, channel]` (output after the task's output nonlinearity). */
  frame?: DebugFrame;
}

/** Thrown when loss, a gradient or a state tensor is NaN or infinite. The weights were not touched. */
export class NonFiniteError extends Error {
  /** The refused iteration's debug frame (the forward pass that produced the bad value), when it could be taken. */
  frame?: DebugFrame;

  constructor(
    readonly tensor: string,
    readonly iteration: number,
    readonly timestep: number | null,
    detail: string,
  ) {
    super(
      `non-finite value in ${tensor} at iteration ${iteration}${timestep === null ? '' : `, timestep ${timestep}`}: ` +
        `${detail}`,
    );
    this.name = 'NonFiniteError';
  }
}

/** Thrown by config validation; `field` is the offending flag name. */
export class ConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'ConfigError';
  }
}

/**
 * A training session: model, optimizer, task generator and RNG, stepping one iteration at a time. Implemented in
 * `engine/training/trainer.ts` (`createTrainer`, `restoreTrainer`); used by the CLI and by the server's workers.
 */
export interface Trainer {
  readonly config: Readonly<TrainConfig>;
  /** Iterations completed so far. */
  readonly iteration: number;
  /** Run one iteration. Throws NonFiniteError (weights untouched) on NaN/Inf. Captures a frame when
   *  `captureFrame` is true or the iteration is a multiple of summarize_freq. */
  step(options?: { captureFrame?: boolean }): Promise<IterationResult>;
  setLearningRate(lr: number): void;
  setSummarizeFreq(n: number): void;
  /** Serialize weights, optimizer state, iteration, RNG state and config (documented format). */
  checkpoint(): Promise<Uint8Array>;
  /** Evaluate on longer sequences (test phase); returns the task's metric. */
  test(options?: {
    batches?: number;
    lengthFactor?: number;
  }): Promise<{ metric: number; metricName: string; loss: number }>;
  dispose(): void;
}
