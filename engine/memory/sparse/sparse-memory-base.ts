/**
 * What the sparse memories of Rae et al. 2016 (SAM and the SDNC, `sparse-memory.ts`) hold besides their step: the
 * options and their checks (N, W, R, K, K_L and the host stores' sizes), the state's tensors and their start, one
 * host store set per batch size (`sparse-history.ts`), reading and seeding host rows, and the interface layer's
 * variables.
 */
import * as tf from '@tensorflow/tfjs';
import { hasSynchronousReadback } from '../../util/device-backend';
import { assertPositiveInteger } from '../../util/assert-shape';
import type { MemoryState, PreparedInterface } from '../types';
import { INDEX_TYPES, resolveIndexType } from './index/create-index';
import type { IndexType } from './index/types';
import { SparseHistory } from './sparse-history';
import { createInterfaceVariables, sparseInterfaceSize } from './sparse-interface';
import { precedenceSizeFor, visibleSizeFor, type VisibleSizes } from './visible-set';

export interface SparseMemoryConfig {
  /** Width of ξ. */
  readonly inputSize: number;
  /** N: memory cells (up to at least 1,000,000). */
  readonly memorySize: number;
  /** W: cell width. */
  readonly cellSize: number;
  /** R: read heads. */
  readonly readHeads: number;
  /** K: rows each read head attends to. Default 4. */
  readonly sparseReads?: number;
  /** K_L: forward and backward positions per head (SDNC only). Default 4. */
  readonly temporalReads?: number;
  /** Nearest-neighbour index; `auto` = exact up to 1e5 cells, hnsw above. Default auto. */
  readonly indexType?: IndexType;
  /** Only the packed `interface_weights` layout exists for sparse memories. */
  readonly independentLinears?: boolean;
  /** Steps of written rows kept differentiable in the journal (BPTT horizon through memory). Default 32. */
  readonly journalSteps?: number;
  /** Dirty rows an hnsw index accumulates before updating in place. Default 256. */
  readonly indexFlushRows?: number;
  /** Undo records kept; beyond it a reset clears in O(N). Default 100,000. */
  readonly maxUndoSteps?: number;
  /**
   * Run the visible step as one taped op on typed arrays (`fused-visible-step.ts`) instead of the tfjs op
   * composition it is tested against. Default true.
   */
  readonly fused?: boolean;
}

export interface SparseMemoryState extends MemoryState {
  /** `[batch, R, K]` top-K read weights of the last step, in [0, 1]. */
  readonly readWeights: tf.Tensor3D;
  /** `[batch, R, K]` int32 cells of `readWeights` (−1 before the first step). */
  readonly readPositions: tf.Tensor3D;
  /** `[batch, J, W]` rows written in the last `journalSteps` steps, newest first, on the tape. */
  readonly journal: tf.Tensor3D;
  /** `[batch]` int32 id of the host version this state belongs to. */
  readonly history: tf.Tensor1D;
  /**
   * SDNC: `[batch, P]` precedence p_t at its P kept positions (P = R·K + 1), on the tape so the next step's new
   * links w_i·p[j] carry gradient to earlier write weights. SAM: `[batch, 0]`.
   */
  readonly precedence: tf.Tensor2D;
}

let instanceCounter = 0;

/** SAM and the SDNC apart from the step, which `SparseMemory` (`sparse-memory.ts`) adds. */
export abstract class SparseMemoryBase {
  readonly inputSize: number;
  readonly readHeads: number;
  readonly cellSize: number;
  readonly variables: ReadonlyMap<string, tf.Variable>;
  readonly sizes: VisibleSizes;
  readonly indexKind: 'exact' | 'hnsw';
  protected readonly fused: boolean;
  /** Host stores per batch size (training and a batch-1 replay can alternate without rebuilding them). */
  protected readonly histories = new Map<number, SparseHistory>();
  /** The stores of the last `initialState` call, for `readHostRow` and `seedRows`. */
  private history: SparseHistory | null = null;

  constructor(
    protected readonly name: string,
    readonly config: SparseMemoryConfig,
    readonly temporal: boolean,
    private readonly seed: number,
  ) {
    if (!hasSynchronousReadback()) {
      // The index, row store and link lists live on the host and every step reads keys and weights back.
      throw new Error(
        `${name}: the sparse memories keep their nearest-neighbour index, row store and sparse links on the host ` +
          `and read each step's keys and weights back synchronously; the '${tf.getBackend()}' backend has no ` +
          'synchronous readback in Node. Run SAM/SDNC on wasm or cpu (ENGRAM_BACKEND=wasm).',
      );
    }
    for (const option of [
      'inputSize',
      'memorySize',
      'cellSize',
      'readHeads',
      'sparseReads',
      'temporalReads',
      'journalSteps',
      'indexFlushRows',
      'maxUndoSteps',
    ] as const) {
      const value = config[option];
      if (value !== undefined) assertPositiveInteger(name, option, value);
    }
    if (config.independentLinears === true)
      throw new Error(`${name}: option 'independentLinears' must be false for sparse memories, got true`);
    const indexType = config.indexType ?? 'auto';
    if (!INDEX_TYPES.includes(indexType))
      throw new Error(`${name}: option 'indexType' must be one of ${INDEX_TYPES.join(', ')}, got ${String(indexType)}`);
    const sparseReads = config.sparseReads ?? 4;
    if (sparseReads > config.memorySize) {
      throw new Error(`${name}: option 'sparseReads' must be ≤ memorySize ${config.memorySize}, got ${sparseReads}`);
    }
    const temporalReads = temporal ? (config.temporalReads ?? 4) : 0;
    const visibleSize = visibleSizeFor(config.memorySize, config.readHeads, sparseReads, temporalReads);
    const writeSlots = Math.min(config.memorySize, config.readHeads * sparseReads + 1);
    this.sizes = {
      memorySize: config.memorySize,
      cellSize: config.cellSize,
      readHeads: config.readHeads,
      sparseReads,
      temporalReads,
      visibleSize,
      writeSlots,
      journalRows: writeSlots * (config.journalSteps ?? 32),
    };
    this.inputSize = config.inputSize;
    this.readHeads = config.readHeads;
    this.cellSize = config.cellSize;
    this.indexKind = resolveIndexType(indexType, config.memorySize);
    this.fused = config.fused ?? true;
    const outputSize = sparseInterfaceSize(config.readHeads, config.cellSize, temporal);
    this.variables = createInterfaceVariables(config.inputSize, outputSize, seed, `${name}_${instanceCounter++}/`);
  }

  initialState(batchSize: number): SparseMemoryState {
    assertPositiveInteger(`${this.name}.initialState`, 'batchSize', batchSize);
    let history = this.histories.get(batchSize);
    if (history === undefined) {
      const { memorySize, cellSize, readHeads, sparseReads, temporalReads } = this.sizes;
      const storeConfig = {
        memorySize,
        cellSize,
        readHeads,
        sparseReads,
        temporalReads,
        indexType: this.config.indexType ?? 'auto',
        indexFlushRows: this.config.indexFlushRows ?? 256,
        seed: this.seed,
      };
      history = new SparseHistory(batchSize, storeConfig, this.config.maxUndoSteps ?? 100_000);
      this.histories.set(batchSize, history);
    }
    this.history = history;
    const root = history.reset();
    const { readHeads, sparseReads, journalRows, cellSize } = this.sizes;
    return {
      readWeights: tf.zeros([batchSize, readHeads, sparseReads]),
      readPositions: tf.fill([batchSize, readHeads, sparseReads], -1, 'int32'),
      journal: tf.zeros([batchSize, journalRows, cellSize]),
      history: tf.fill([batchSize], root, 'int32'),
      precedence: tf.zeros([batchSize, this.precedenceSize]),
    };
  }

  /** P: precedence entries kept in the state (0 for SAM). */
  get precedenceSize(): number {
    return this.temporal ? precedenceSizeFor(this.sizes.readHeads, this.sizes.sparseReads) : 0;
  }

  stateShapes(batchSize: number): Readonly<Record<string, readonly number[]>> {
    const { readHeads, sparseReads, journalRows, cellSize } = this.sizes;
    return {
      readWeights: [batchSize, readHeads, sparseReads],
      readPositions: [batchSize, readHeads, sparseReads],
      journal: [batchSize, journalRows, cellSize],
      history: [batchSize],
      precedence: [batchSize, this.precedenceSize],
    };
  }

  /**
   * The current host row `cell` of batch element `batchIndex` (`[W]`), for inspection and tests: the memory as of
   * the last step taken or rolled back to.
   */
  readHostRow(batchIndex: number, cell: number): Float32Array {
    const element = this.history?.elements[batchIndex];
    if (element === undefined)
      throw new Error(`${this.name}.readHostRow: no host memory for batch index ${batchIndex}`);
    if (!Number.isInteger(cell) || cell < 0 || cell >= this.sizes.memorySize) {
      throw new Error(
        `${this.name}.readHostRow: argument 'cell' must be in [0, ${this.sizes.memorySize}), got ${cell}`,
      );
    }
    const row = new Float32Array(this.cellSize);
    element.rows.readInto(cell, row, 0);
    return row;
  }

  /**
   * Write `rows` (`[cells.length, W]` row-major) into batch element `batchIndex` as part of the starting memory:
   * not undone by `initialState`, visible to the index like any write. Only right after `initialState`, before a
   * step (for benchmarks and for loading a stored memory).
   */
  seedRows(batchIndex: number, cells: ArrayLike<number>, rows: Float32Array): void {
    const fn = `${this.name}.seedRows`;
    const history = this.history;
    const element = history?.elements[batchIndex];
    if (history === null || element === undefined)
      throw new Error(`${fn}: no host memory for batch index ${batchIndex}; call initialState first`);
    if (!history.atRoot)
      throw new Error(`${fn}: memory has taken steps since initialState; seed rows before the first step`);
    if (rows.length !== cells.length * this.cellSize)
      throw new Error(
        `${fn}: argument 'rows' has ${rows.length} values, ${cells.length} cells × W ${this.cellSize} need ` +
          `${cells.length * this.cellSize}`,
      );
    for (let i = 0; i < cells.length; i++) {
      const cell = cells[i];
      if (!Number.isInteger(cell) || cell < 0 || cell >= this.sizes.memorySize)
        throw new Error(`${fn}: cell ${cell} outside [0, ${this.sizes.memorySize})`);
      element.rows.write(cell, rows, i * this.cellSize);
      element.index.markDirty(cell);
    }
  }

  dispose(): void {
    for (const variable of this.variables.values()) variable.dispose();
    for (const history of this.histories.values()) history.dispose();
    this.histories.clear();
    this.history = null;
  }

  /** The interface layer arranged for one forward call's steps: the weight transposed for `affine`. */
  prepareInterface(): PreparedInterface {
    const weight = this.required('interface_weights.weight') as tf.Tensor2D;
    return { weight: tf.transpose(weight), bias: this.required('interface_weights.bias') as tf.Tensor1D };
  }

  private required(key: string): tf.Variable {
    const variable = this.variables.get(key);
    if (variable === undefined) throw new Error(`${this.name}: missing variable '${key}'`);
    return variable;
  }
}
