/**
 * Admission of engine runs: an estimate of a run's peak memory from its resolved config, the default memory budget
 * and training cap, and the messages that refuse a run. Pure: the run manager (and its queue, `run-queue.ts`) decide
 * with these numbers; `npm run bench:memory-estimate` measures real workers against the estimate.
 *
 * What a training worker holds at its peak, per part (B batch, N cells, W width, R read heads, T timesteps of the
 * longest episode the run reaches, L memories: one per DNC layer):
 * - backprop tape: every timestep's memory state is kept for the backward pass, twice (the backend's tensor and
 *   the fused kernel's typed-array copy of its inputs): the link matrix B·N² dominates dense memories, then the
 *   memory B·N·W and the kernel's float64 per-cell intermediates (about 11 + 4R vectors of B·N);
 * - the backward pass: gradients of one timestep's state while it walks back, and the current state;
 * - debug frames: a twin re-runs batch element 0 recording every timestep's link, memory and weightings, then packs
 *   and reads them back (about three copies of T·N² for a dense memory);
 * - sparse memories (SAM, SDNC): the row store and index of every batch element (B·N·W and per-row index links) and
 *   the tape over the visible rows only;
 * - the controller: weights, gradients, Adam's two moments and the checkpoint copies, each timestep's weight
 *   gradients until they are summed, and its per-timestep activations;
 * - a fixed baseline per worker (a V8 isolate with tfjs, its backend and the TypeScript loader).
 */
import type { RunConfig } from './protocol';

const FLOAT32 = 4;
const FLOAT64 = 8;
const MB = 1024 * 1024;

/** What a training worker costs before it allocates any tensor (bench:memory-estimate: about 210 MB on wasm). */
export const WORKER_BASELINE_BYTES = 256 * MB;

/**
 * Copies of each timestep's state alive at the peak of backprop: the backend's tensor, the fused kernel's typed-array
 * copy of its inputs, and the gradients the backward pass builds from them (bench:memory-estimate measured about
 * 4.4 on wasm; rounded up).
 */
const TAPE_STATE_COPIES = 5;
/** Copies of the state alive at once during the backward pass (gradients in and out, the current state). */
const BACKWARD_STATE_COPIES = 4;
/** Copies of a debug frame's series in flight (recorded tensors, their packed concat, the read-back array). */
const FRAME_COPIES = 3;
/** Float64 vectors of B·N (plus 4 per read head) the fused kernel keeps per timestep for its backward pass. */
const KERNEL_TAPE_VECTORS = 11;
/** Bytes per row of a sparse memory's index (neighbour links and bookkeeping of an HNSW graph). */
const SPARSE_INDEX_ROW_BYTES = 256;
/** Float tensors of B·nhid each LSTM layer leaves on the tape per timestep (gates, cell, hidden, their ops). */
const CONTROLLER_TAPE_TENSORS = 24;
/** Parameter copies: weights, gradients, Adam's two moments, the checkpoint's copy and the debug twin's. */
const PARAMETER_COPIES = 6;
/** Each timestep's weight gradients live until they are summed (bench:memory-estimate measured about 6.7). */
const STEP_GRADIENT_COPIES = 8;

/** A run's estimated peak memory and what it is made of (bytes). */
export interface MemoryEstimate {
  bytes: number;
  /** Timesteps of the longest episode the run reaches (its curriculum included), which the estimate assumes. */
  timesteps: number;
  parts: { baseline: number; tape: number; backward: number; frames: number; sparse: number; controller: number };
}

/**
 * Estimate an engine run's peak memory from its resolved config: an upper-ish bound (bench:memory-estimate reports
 * measured / estimated per config). Monotone in every size field.
 *
 * @example estimateRunMemory(config).bytes > budgetBytes // refuse the run
 */
export function estimateRunMemory(config: RunConfig): MemoryEstimate {
  const batch = config.batch_size;
  const cells = config.mem_slot;
  const width = config.mem_size;
  const readHeads = config.read_heads;
  const memories = config.nlayer;
  const timesteps = episodeTimesteps(config);
  const sparse = config.memory_type !== 'dnc';

  // Per batch element, per memory: the state one timestep holds, and what the frame of batch element 0 records.
  let stateBytes: number;
  let frameStepBytes: number;
  let storeBytes = 0;
  if (sparse) {
    const visible = Math.min(cells, sparseVisibleRows(config));
    stateBytes =
      visible * (width + 2 * readHeads + 4) * FLOAT32 + visible * (visible + 4) * FLOAT32 * sdncFactor(config);
    frameStepBytes = stateBytes;
    storeBytes = memories * batch * cells * (2 * width * FLOAT32 + SPARSE_INDEX_ROW_BYTES);
  } else {
    const link = cells * cells * FLOAT32;
    const rows = cells * width * FLOAT32;
    const vectors = cells * (KERNEL_TAPE_VECTORS + 4 * readHeads) * FLOAT64;
    stateBytes = link + rows + vectors;
    frameStepBytes = link + rows + cells * (readHeads + 3) * FLOAT32;
  }
  const tape = TAPE_STATE_COPIES * memories * batch * timesteps * stateBytes;
  const backward = BACKWARD_STATE_COPIES * memories * batch * stateBytes;
  const frames = FRAME_COPIES * memories * timesteps * frameStepBytes;

  const parameters = parameterCount(config);
  const controller =
    (PARAMETER_COPIES + STEP_GRADIENT_COPIES * timesteps) * parameters * FLOAT32 +
    CONTROLLER_TAPE_TENSORS * memories * config.nhlayer * batch * timesteps * config.nhid * FLOAT32;

  const parts = { baseline: WORKER_BASELINE_BYTES, tape, backward, frames, sparse: storeBytes, controller };
  const bytes = Object.values(parts).reduce((sum, part) => sum + part, 0);
  return { bytes, timesteps, parts };
}

/** Timesteps of the task's longest episode over the run: its length bound after the curriculum's last increment. */
export function episodeTimesteps(config: RunConfig): number {
  const steps =
    config.curriculum_increment > 0 ? Math.floor(Math.max(0, config.iterations - 1) / config.curriculum_freq) : 0;
  const length = config.sequence_max_length + config.curriculum_increment * steps;
  const repeats = typeof config.repeats === 'number' ? config.repeats : 2;
  switch (config.task) {
    case 'copy':
      return 2 * length + 1;
    case 'repeat-copy':
      return length + 1 + repeats * length;
    case 'associative-recall':
      return length + 2;
    default:
      // adding, argmax: the sequence and one answer step.
      return length + 1;
  }
}

/** The sparse step's visible set V (engine/memory/sparse/README.md): reads, the LRU cell, searches, links. */
function sparseVisibleRows(config: RunConfig): number {
  const reads = config.read_heads * config.sparse_reads;
  const temporal = config.memory_type === 'sdnc' ? 2 * config.read_heads * config.temporal_reads + reads + 1 : 0;
  return 2 * reads + 1 + temporal;
}

/** The SDNC keeps a link matrix over its visible rows; SAM has none. */
function sdncFactor(config: RunConfig): number {
  return config.memory_type === 'sdnc' ? 1 : 0;
}

/** Trainable parameters: per DNC layer the controller's cells and the memory interface, then the output layer. */
function parameterCount(config: RunConfig): number {
  const inputSize = typeof config.input_size === 'number' ? config.input_size : 6;
  const hidden = config.nhid;
  const readWidth = config.read_heads * config.mem_size;
  const gates = config.rnn_type === 'lstm' ? 4 : config.rnn_type === 'gru' ? 3 : 1;
  const interfaceWidth = readWidth + 3 * config.mem_size + 5 * config.read_heads + 3;
  let count = 0;
  for (let layer = 0; layer < config.nlayer; layer++) {
    let input = (layer === 0 ? inputSize : hidden) + readWidth;
    for (let cell = 0; cell < config.nhlayer; cell++) {
      count += gates * hidden * (input + hidden + 2);
      input = hidden;
    }
    count += interfaceWidth * (hidden + 1);
  }
  return count + (hidden + readWidth + 1) * inputSize;
}

// ---------------------------------------------------------------------------------------------- limits

/** The share of the machine's memory the default budget gives training workers (the rest: the server, the OS). */
export const DEFAULT_BUDGET_SHARE = 0.5;

/** The default memory budget for a machine with `totalBytes` of memory. */
export function defaultMemoryBudgetBytes(totalBytes: number): number {
  return Math.floor(totalBytes * DEFAULT_BUDGET_SHARE);
}

/** The default cap on concurrently training engine runs: every core but one, which serves the API and sockets. */
export function defaultMaxTraining(cpus: number): number {
  return Math.max(1, cpus - 1);
}

/** Bytes as the messages show them: whole megabytes. */
export function formatMegabytes(bytes: number): string {
  return `${Math.ceil(bytes / MB)} MB`;
}

const PART_NAMES: Readonly<Record<keyof MemoryEstimate['parts'], string>> = {
  baseline: 'the worker itself',
  tape: 'the backprop tape',
  backward: 'the backward pass',
  frames: 'debug frames',
  sparse: "the sparse memory's row store and index",
  controller: 'the controller and its optimizer',
};

/** Why a run can never start under this budget (its estimate alone exceeds it). */
export function overBudgetMessage(estimate: MemoryEstimate, budgetBytes: number): string {
  const [largest] = (Object.entries(estimate.parts) as [keyof MemoryEstimate['parts'], number][]).sort(
    (a, b) => b[1] - a[1],
  );
  return (
    `this run needs an estimated ${formatMegabytes(estimate.bytes)} of memory (mostly ${PART_NAMES[largest[0]]}, ` +
    `over episodes of ${estimate.timesteps} timesteps), above the memory budget of ${formatMegabytes(budgetBytes)} ` +
    '(--memory-budget-mb / ENGRAM_MEMORY_BUDGET_MB); lower mem_slot, batch_size or sequence_max_length'
  );
}

/** What an out-of-memory failure adds to its message: the run's estimate and the budget. */
export function estimateNote(estimate: MemoryEstimate, budgetBytes: number): string {
  const limit = formatMegabytes(budgetBytes);
  return `this run's estimate is ${formatMegabytes(estimate.bytes)}; the memory budget is ${limit}`;
}
