/**
 * Options of the DNC wrapper (Graves et al. 2016, "Methods": controller, memory of N cells of width W read by R
 * heads), named as pytorch-dnc's `DNC` constructor arguments in camelCase so that a pytorch-dnc configuration
 * carries over one to one. Validation throws an Error naming the option and the value it received.
 */
import type { RnnType } from './controller/types';
import type { RnnNonlinearity } from './controller/rnn';

export type MemoryType = 'dnc' | 'sam' | 'sdnc';
export type IndexType = 'exact' | 'hnsw' | 'auto';
/**
 * Which read vectors layer 0's controller sees at step t: `previous` = r_{t−1} (the paper, DeepMind, and
 * pytorch-dnc when called one step at a time); `initial` = the read vectors passed in with the hidden state, at
 * every step of the call (pytorch-dnc 2.0's behaviour for a multi-step call; kept for parity only).
 */
export type ReadFeedback = 'previous' | 'initial';

/** Constructor options; everything but `inputSize` and `hiddenSize` has pytorch-dnc's default. */
export interface DNCOptions {
  /** X: input width per timestep. */
  inputSize: number;
  /** H: controller units per hidden layer. */
  hiddenSize: number;
  /** Controller cell. Default `lstm`. */
  rnnType?: RnnType;
  /** DNC layers, each a controller plus memory access. Default 1. */
  numLayers?: number;
  /** Stacked recurrent layers inside each DNC layer's controller. Default 2. */
  numHiddenLayers?: number;
  /** Whether controller layers have biases. Default true. */
  bias?: boolean;
  /** Input and output are `[batch, time, ·]` when true, `[time, batch, ·]` when false. Default true. */
  batchFirst?: boolean;
  /** Dropout between stacked controller layers, training only. Default 0. */
  dropout?: number;
  /** N: memory cells. Default 5. */
  nrCells?: number;
  /** R: read heads. Default 2. */
  readHeads?: number;
  /** W: cell width. Default 10. */
  cellSize?: number;
  /** Plain-RNN activation. Default `tanh`. */
  nonlinearity?: RnnNonlinearity;
  /** Ten separate interface Linears instead of one packed one. Default false. */
  independentLinears?: boolean;
  /** One memory shared by all DNC layers (true) or one per layer. Default true. */
  shareMemory?: boolean;
  /** Controller output ξ is clamped to ±clip before the memory; 0 disables. Default 20. */
  clip?: number;
  /** Return a debug frame from every forward call. Default false. */
  debug?: boolean;
  /** Y: output width. Default `inputSize` (pytorch-dnc has no separate output size). */
  outputSize?: number;
  /** Memory kind. Default `dnc`. */
  memoryType?: MemoryType;
  /** K: sparse reads per head (SAM/SDNC). Default 4. */
  sparseReads?: number;
  /** K_L: temporal reads (SDNC). Default 4. */
  temporalReads?: number;
  /** Nearest-neighbour index of the sparse memories. Default `auto`. */
  indexType?: IndexType;
  /** Default read feedback for `forward`; see `ReadFeedback`. Default `previous`. */
  readFeedback?: ReadFeedback;
  /** Seed of the deterministic initialisation and dropout masks. Default: a random seed. */
  seed?: number;
}

export type ResolvedDNCOptions = Required<DNCOptions>;

const DEFAULTS: Omit<ResolvedDNCOptions, 'inputSize' | 'hiddenSize' | 'outputSize' | 'seed'> = {
  rnnType: 'lstm',
  numLayers: 1,
  numHiddenLayers: 2,
  bias: true,
  batchFirst: true,
  dropout: 0,
  nrCells: 5,
  readHeads: 2,
  cellSize: 10,
  nonlinearity: 'tanh',
  independentLinears: false,
  shareMemory: true,
  clip: 20,
  debug: false,
  memoryType: 'dnc',
  sparseReads: 4,
  temporalReads: 4,
  indexType: 'auto',
  readFeedback: 'previous',
};

const KNOWN_OPTIONS = new Set<string>([...Object.keys(DEFAULTS), 'inputSize', 'hiddenSize', 'outputSize', 'seed']);

function fail(option: string, expected: string, value: unknown): never {
  throw new Error(
    `DNC: option '${option}' must be ${expected}, got ` +
      `${typeof value === 'string' ? JSON.stringify(value) : String(value)}`,
  );
}

function oneOf<T extends string>(option: string, value: unknown, allowed: readonly T[]): void {
  if (!allowed.some((a) => a === value)) fail(option, `one of ${allowed.join(', ')}`, value);
}

/** Fill defaults and validate; throws naming the first bad option. */
export function resolveDNCOptions(options: DNCOptions): ResolvedDNCOptions {
  if (options === null || typeof options !== 'object') fail('options', 'an object', options);
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key))
      throw new Error(`DNC: unknown option '${key}' (options are camelCase: ${[...KNOWN_OPTIONS].join(', ')})`);
  }
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<DNCOptions>;
  const resolved: ResolvedDNCOptions = {
    ...DEFAULTS,
    outputSize: options.inputSize,
    seed: Math.floor(Math.random() * 0x7fffffff),
    ...defined,
    inputSize: options.inputSize,
    hiddenSize: options.hiddenSize,
  };
  for (const key of [
    'inputSize',
    'hiddenSize',
    'outputSize',
    'numLayers',
    'numHiddenLayers',
    'nrCells',
    'readHeads',
    'cellSize',
    'sparseReads',
    'temporalReads',
  ] as const) {
    const value = resolved[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) fail(key, 'a positive integer', value);
  }
  for (const key of ['bias', 'batchFirst', 'independentLinears', 'shareMemory', 'debug'] as const) {
    if (typeof resolved[key] !== 'boolean') fail(key, 'a boolean', resolved[key]);
  }
  oneOf('rnnType', resolved.rnnType, ['lstm', 'gru', 'rnn'] as const);
  oneOf('nonlinearity', resolved.nonlinearity, ['tanh', 'relu'] as const);
  oneOf('memoryType', resolved.memoryType, ['dnc', 'sam', 'sdnc'] as const);
  oneOf('indexType', resolved.indexType, ['exact', 'hnsw', 'auto'] as const);
  oneOf('readFeedback', resolved.readFeedback, ['previous', 'initial'] as const);
  if (typeof resolved.dropout !== 'number' || !(resolved.dropout >= 0 && resolved.dropout < 1))
    fail('dropout', 'a number in [0, 1)', resolved.dropout);
  if (typeof resolved.clip !== 'number' || !Number.isFinite(resolved.clip) || resolved.clip < 0)
    fail('clip', 'a finite number ≥ 0 (0 disables clipping)', resolved.clip);
  if (typeof resolved.seed !== 'number' || !Number.isFinite(resolved.seed))
    fail('seed', 'a finite number', resolved.seed);
  return resolved;
}
