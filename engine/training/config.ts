/**
 * Training-run configuration: the field table (type, bounds, default, help) and `resolveTrainConfig`, shared by
 * the `train` CLI and the server so that a command line and a posted run config mean the same thing.
 *
 * Defaults are pytorch-dnc 2.0's `tasks/copy_task.py` argparse defaults (the DNC paper's copy-task setting as
 * that repository runs it): LSTM controller, 64 hidden units, 1 DNC layer with 2 controller layers, Adam at
 * lr 1e-4, clip 50, batch 100, W = 20, N = 16, R = 4, sequences up to 4 items.
 */
import { ConfigError } from './types';
import type { TrainConfig } from './types';

type FieldKind = 'integer' | 'number' | 'choice';

/** How one config field is read and checked. */
export interface FieldSpec {
  readonly kind: FieldKind;
  readonly default: number | string;
  readonly help: string;
  /** Inclusive lower bound (numbers). */
  readonly min?: number;
  /** Exclusive lower bound (numbers): the value must be greater. */
  readonly above?: number;
  /** Exclusive upper bound (numbers): the value must be smaller. */
  readonly below?: number;
  /** Inclusive upper bound (numbers): what one run may ask of this machine; the server refuses more. */
  readonly max?: number;
  readonly choices?: readonly string[];
}

/** Every TrainConfig field, in `--help` order. */
export const TRAIN_FIELDS: Readonly<Record<keyof TrainConfig, FieldSpec>> = {
  task: {
    kind: 'choice',
    default: 'copy',
    choices: ['copy', 'repeat-copy', 'associative-recall', 'adding', 'argmax'],
    help: 'task to train on',
  },
  input_size: { kind: 'integer', default: 6, min: 2, max: 64, help: 'channels per input step, marker included' },
  repeats: { kind: 'integer', default: 2, min: 1, max: 100, help: 'repeat-copy: times the sequence is written back' },
  rnn_type: { kind: 'choice', default: 'lstm', choices: ['lstm', 'gru', 'rnn'], help: 'controller cell type' },
  nhid: { kind: 'integer', default: 64, min: 1, max: 4096, help: 'controller hidden units' },
  dropout: { kind: 'number', default: 0, min: 0, below: 1, help: 'controller dropout' },
  memory_type: { kind: 'choice', default: 'dnc', choices: ['dnc', 'sdnc', 'sam'], help: 'dense or sparse memory' },
  nlayer: { kind: 'integer', default: 1, min: 1, max: 8, help: 'DNC layers' },
  nhlayer: { kind: 'integer', default: 2, min: 1, max: 8, help: 'controller hidden layers per DNC layer' },
  lr: { kind: 'number', default: 1e-4, above: 0, max: 10, help: 'learning rate' },
  optim: {
    kind: 'choice',
    default: 'adam',
    choices: ['adam', 'adamax', 'rmsprop', 'sgd', 'adagrad', 'adadelta'],
    help: 'optimizer',
  },
  clip: { kind: 'number', default: 50, above: 0, max: 1e6, help: 'gradient-norm clipping threshold' },
  batch_size: { kind: 'integer', default: 100, min: 1, max: 1024, help: 'episodes per iteration' },
  mem_size: { kind: 'integer', default: 20, min: 1, max: 1024, help: 'W: memory cell width' },
  mem_slot: { kind: 'integer', default: 16, min: 1, max: 1_048_576, help: 'N: memory cells' },
  read_heads: { kind: 'integer', default: 4, min: 1, max: 16, help: 'R: read heads' },
  sparse_reads: { kind: 'integer', default: 10, min: 1, max: 1024, help: 'K: sparse reads per head (sam, sdnc)' },
  temporal_reads: { kind: 'integer', default: 2, min: 1, max: 1024, help: 'K_L: temporal reads (sdnc)' },
  sequence_max_length: { kind: 'integer', default: 4, min: 1, max: 1000, help: 'longest training sequence (items)' },
  curriculum_increment: {
    kind: 'integer',
    default: 0,
    min: 0,
    max: 1000,
    help: 'added to the length bound every curriculum_freq iterations',
  },
  curriculum_freq: {
    kind: 'integer',
    default: 1000,
    min: 1,
    max: 1e9,
    help: 'iterations between curriculum increments',
  },
  iterations: { kind: 'integer', default: 100000, min: 1, max: 1e9, help: 'training iterations' },
  summarize_freq: {
    kind: 'integer',
    default: 100,
    min: 1,
    max: 1e9,
    help: 'iterations between summaries (and debug frames)',
  },
  check_freq: { kind: 'integer', default: 100, min: 1, max: 1e9, help: 'iterations between checkpoints' },
  seed: { kind: 'integer', default: 1, min: 0, max: 2 ** 32 - 1, help: 'seed for data and weight initialisation' },
};

const FIELD_NAMES = Object.keys(TRAIN_FIELDS) as (keyof TrainConfig)[];

/** Accepts `batch_size`, `batch-size` (and leading dashes are not part of names). */
export function canonicalFieldName(name: string): string {
  return name.replace(/-/g, '_');
}

export function isTrainField(name: string): name is keyof TrainConfig {
  return (FIELD_NAMES as string[]).includes(name);
}

const NUMBER_PATTERN = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A bad value as an error message shows it: strings quoted and cut short, numbers as written. */
function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 37)}...` : value}'`;
  return typeof value === 'number' ? String(value) : typeName(value);
}

/** What kind of JSON value this is, for "expected a number, got an array". */
function typeName(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `a string (${describe(value)})`;
  return `a ${typeof value} (${String(value)})`;
}

/** Read one field's value (a number, or a string as typed on a command line) or throw ConfigError naming it. */
export function parseFieldValue(field: keyof TrainConfig, value: unknown): number | string {
  const spec = TRAIN_FIELDS[field];
  if (spec.kind === 'choice') {
    const choices = spec.choices ?? [];
    if (typeof value !== 'string')
      throw new ConfigError(field, `expected one of ${choices.join(', ')}, got ${typeName(value)}`);
    if (!choices.includes(value))
      throw new ConfigError(field, `${describe(value)} is not one of ${choices.join(', ')}`);
    return value;
  }
  let parsed: number;
  if (typeof value === 'number') parsed = value;
  else if (typeof value === 'string' && NUMBER_PATTERN.test(value.trim())) parsed = Number(value.trim());
  else if (typeof value === 'string') throw new ConfigError(field, `${describe(value)} is not a number`);
  else throw new ConfigError(field, `expected a number, got ${typeName(value)}`);
  if (!Number.isFinite(parsed)) throw new ConfigError(field, `${describe(value)} is not a finite number`);
  if (spec.kind === 'integer' && !Number.isSafeInteger(parsed)) {
    throw new ConfigError(field, `${describe(value)} is not an integer`);
  }
  if (spec.min !== undefined && parsed < spec.min)
    throw new ConfigError(field, `${describe(value)} is below ${spec.min}`);
  if (spec.above !== undefined && !(parsed > spec.above)) {
    throw new ConfigError(field, `${describe(value)} must be greater than ${spec.above}`);
  }
  if (spec.max !== undefined && parsed > spec.max)
    throw new ConfigError(field, `${describe(value)} is above the maximum ${spec.max}`);
  if (spec.below !== undefined && !(parsed < spec.below)) {
    throw new ConfigError(field, `${describe(value)} must be smaller than ${spec.below}`);
  }
  return parsed;
}

/**
 * Resolve a partial run config (snake_case or kebab-case keys, numbers or numeric strings) into a full
 * TrainConfig with pytorch-dnc's copy-task defaults. Unknown fields, bad values and inconsistent combinations
 * throw ConfigError naming the field and the value.
 *
 * @example
 * resolveTrainConfig({ task: 'copy', 'batch-size': '8', lr: 0.01 }).batch_size; // 8
 */
export function resolveTrainConfig(input: Record<string, unknown>): TrainConfig {
  const values = new Map<keyof TrainConfig, number | string>();
  for (const [rawName, value] of Object.entries(input)) {
    if (value === undefined) continue;
    const name = canonicalFieldName(rawName);
    const shown = rawName.length > 40 ? `${rawName.slice(0, 37)}...` : rawName;
    if (!isTrainField(name)) throw new ConfigError(shown, `unknown field (known: ${FIELD_NAMES.join(', ')})`);
    if (values.has(name)) throw new ConfigError(shown, `given twice (as ${name} and ${shown})`);
    values.set(name, parseFieldValue(name, value));
  }
  const number = (field: keyof TrainConfig): number => {
    const value = values.get(field) ?? TRAIN_FIELDS[field].default;
    if (typeof value !== 'number') throw new ConfigError(field, `${describe(value)} is not a number`);
    return value;
  };
  const choice = <T extends string>(field: keyof TrainConfig): T =>
    String(values.get(field) ?? TRAIN_FIELDS[field].default) as T;
  const config: TrainConfig = {
    task: choice('task'),
    rnn_type: choice('rnn_type'),
    nhid: number('nhid'),
    dropout: number('dropout'),
    memory_type: choice('memory_type'),
    nlayer: number('nlayer'),
    nhlayer: number('nhlayer'),
    lr: number('lr'),
    optim: choice('optim'),
    clip: number('clip'),
    batch_size: number('batch_size'),
    mem_size: number('mem_size'),
    mem_slot: number('mem_slot'),
    read_heads: number('read_heads'),
    sparse_reads: number('sparse_reads'),
    temporal_reads: number('temporal_reads'),
    sequence_max_length: number('sequence_max_length'),
    curriculum_increment: number('curriculum_increment'),
    curriculum_freq: number('curriculum_freq'),
    iterations: number('iterations'),
    summarize_freq: number('summarize_freq'),
    check_freq: number('check_freq'),
    seed: number('seed'),
    input_size: number('input_size'),
    repeats: number('repeats'),
  };
  checkCombinations(config);
  return config;
}

function checkCombinations(config: TrainConfig): void {
  const inputSize = config.input_size ?? 6;
  if (config.task === 'associative-recall') {
    const distinctItems = 2 ** (inputSize - 1);
    if (config.sequence_max_length > distinctItems) {
      throw new ConfigError(
        'sequence_max_length',
        `${config.sequence_max_length} items need as many distinct ${inputSize - 1}-bit items; input_size ` +
          `${inputSize} gives ${distinctItems}`,
      );
    }
    if (config.curriculum_increment > 0) {
      throw new ConfigError(
        'curriculum_increment',
        `${config.curriculum_increment}: associative-recall lengths are capped by input_size; use 0`,
      );
    }
  }
  if (
    (config.task === 'adding' || config.task === 'argmax' || config.task === 'associative-recall') &&
    config.sequence_max_length < 2
  ) {
    throw new ConfigError(
      'sequence_max_length',
      `${config.sequence_max_length}: ${config.task} needs at least 2 items`,
    );
  }
  if (config.memory_type !== 'dnc' && config.sparse_reads > config.mem_slot) {
    throw new ConfigError('sparse_reads', `${config.sparse_reads} is more than mem_slot ${config.mem_slot}`);
  }
}

/** The sequence-length bound in force at 1-based `iteration` (pytorch-dnc's curriculum: + increment every freq). */
export function sequenceLengthAt(config: TrainConfig, iteration: number): number {
  const steps = config.curriculum_increment > 0 ? Math.floor((iteration - 1) / config.curriculum_freq) : 0;
  return config.sequence_max_length + config.curriculum_increment * Math.max(0, steps);
}
