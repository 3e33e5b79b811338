/**
 * Sparse Access Memory (SAM) and the Sparse DNC (SDNC) of Rae et al. 2016, "Scaling Memory-Augmented Neural
 * Networks with Sparse Reads and Writes", as `MemoryModule`s for the DNC wrapper.
 *
 * How host structures are tied to the state: the module owns one host store per batch element (memory rows,
 * LRU list, index, SDNC links; see `element-store.ts`). The state holds tensors only: the top-K read weights and
 * their positions, a journal of recently written rows, and a history id that names the host version it belongs
 * to (`sparse-history.ts` rolls the host back when an older state is passed in, so `step` stays a function of its
 * inputs). Gradients flow through what the step reads: visible rows written in the last `journalSteps` steps come
 * from the journal, which is on the tape, so a read reaches the write that produced its row (sparse BPTT); older
 * rows, link values older than a step and usage are host constants. One call touches O(V·W + K·K_L) values; nothing is
 * O(N) per step.
 */
import * as tf from '@tensorflow/tfjs';
import { hasSynchronousReadback } from '../../util/device-backend';
import { assertPositiveInteger, assertShape } from '../../util/assert-shape';
import { affine } from '../../util/affine';
import type { MemoryModule, MemoryState, MemoryStepDebug, MemoryStepResult, PreparedInterface } from '../types';
import type { ElementStore, ElementUndo } from './element-store';
import { INDEX_TYPES, resolveIndexType } from './index/create-index';
import { fusedVisibleStepFromRaw } from './fused-visible-step';
import { askIndexesAhead } from './index/hnsw-index';
import type { IndexType } from './index/types';
import { SparseHistory } from './sparse-history';
import {
  activateSparseInterface,
  createInterfaceVariables,
  parseSparseInterface,
  type SparseInterface,
  type SparseInterfaceArrays,
  sparseInterfaceSize,
} from './sparse-interface';
import { sparseDebug } from './sparse-debug';
import * as ops from './sparse-step';
import { stepOutcome } from './step-outcome';
import type { VisibleStepPlan, VisibleStepSizes } from './visible-step-kernel';
import {
  planVisible,
  precedenceSizeFor,
  stackPlans,
  visibleSizeFor,
  type VisiblePlan,
  type VisibleSizes,
} from './visible-set';

export { ACCESS_THRESHOLD } from './step-outcome';

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

class SparseMemory implements MemoryModule<SparseMemoryState> {
  readonly inputSize: number;
  readonly readHeads: number;
  readonly cellSize: number;
  readonly variables: ReadonlyMap<string, tf.Variable>;
  readonly sizes: VisibleSizes;
  readonly indexKind: 'exact' | 'hnsw';
  private readonly fused: boolean;
  /** Host stores per batch size (training and a batch-1 replay can alternate without rebuilding them). */
  private readonly histories = new Map<number, SparseHistory>();
  /** The stores of the last `initialState` call, for `readHostRow` and `seedRows`. */
  private history: SparseHistory | null = null;

  constructor(
    private readonly name: string,
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

  step(
    xi: tf.Tensor2D,
    prev: SparseMemoryState,
    options: { debug?: boolean; preparedInterface?: PreparedInterface } = {},
  ): MemoryStepResult<SparseMemoryState> {
    const fn = `${this.name}.step`;
    const batch = xi.shape[0];
    assertShape(fn, 'xi', xi, [null, this.inputSize]);
    for (const [key, shape] of Object.entries(this.stateShapes(batch)))
      assertShape(fn, `prev.${key}`, prev[key], shape);
    const history = this.histories.get(batch);
    if (history === undefined)
      throw new Error(`${fn}: no host memory for batch size ${batch}; call initialState(${batch}) first`);
    history.rollbackTo(prev.history.dataSync()[0], fn);
    const { visibleSize: visible, readHeads, sparseReads, cellSize, writeSlots } = this.sizes;

    const layer = options.preparedInterface ?? this.prepareInterface();
    const interfaceRaw = affine(xi, layer.weight, layer.bias);
    // Fused: the activations run on the host (and inside the fused op); plain: as tfjs ops.
    const activated = this.fused
      ? activateSparseInterface(interfaceRaw.dataSync() as Float32Array, batch, readHeads, cellSize, this.temporal)
      : null;
    const controls = activated === null ? parseSparseInterface(interfaceRaw, readHeads, cellSize, this.temporal) : null;
    const keys = activated?.readKeys ?? (controls?.readKeys.dataSync() as Float32Array);
    askIndexesAhead(
      history.elements.map((element) => element.index),
      keys,
      readHeads,
      sparseReads,
    );
    const plans = history.elements.map((element, b) =>
      planVisible(
        element,
        keys.subarray(b * readHeads * cellSize, (b + 1) * readHeads * cellSize),
        this.sizes,
        history.depth,
      ),
    );
    const floats = (pick: (plan: VisiblePlan) => Float32Array) => stackPlans(plans, pick, (n) => new Float32Array(n));
    const ints = (pick: (plan: VisiblePlan) => Int32Array) => stackPlans(plans, pick, (n) => new Int32Array(n));

    const stepSizes: VisibleStepSizes = {
      batch,
      visible,
      cellSize,
      readHeads,
      sparseReads,
      journalRows: this.sizes.journalRows,
      precedenceSize: this.precedenceSize,
      temporal: this.temporal,
    };
    const plan: VisibleStepPlan = {
      hostRows: floats((p) => p.hostRows),
      journalIndex: ints((p) => p.journalIndex),
      prevReadSlots: ints((p) => p.prevReadSlots),
      leastUsedSlots: Int32Array.from(plans, (p) => p.leastUsedSlot),
      candidateMask: floats((p) => p.candidateMask),
      visibleMask: floats((p) => p.visibleMask),
      links: floats((p) => p.links),
      precedenceSlots: ints((p) => p.precedenceSlots),
    };
    const stepState = { journal: prev.journal, prevReadWeights: prev.readWeights, prevPrecedence: prev.precedence };
    const visibleStep = (): ops.VisibleStepResult => {
      if (activated !== null)
        return fusedVisibleStepFromRaw(stepSizes, plan, stepState, interfaceRaw, activated, {
          links: options.debug === true,
        });
      if (controls !== null) return ops.plainVisibleStep(stepSizes, plan, { ...stepState, controls });
      throw new Error(`${fn}: the interface was not parsed (internal error)`);
    };
    const { memory, writeWeights, readWeights, readVectors, links, precedence, values } = visibleStep();

    // One read-back per step (the fused step's own arrays): the host stores need the written rows and the weights
    // that decide access and top-K.
    const readSlots = new Int32Array(batch * readHeads * sparseReads);
    const undos: ElementUndo[] = [];
    const time = history.depth + 1;
    history.elements.forEach((element, b) => {
      const result = stepOutcome(plans[b], b, this.sizes, values, readSlots, time);
      undos.push(element.apply(result, time, writeSlots));
    });
    const id = history.push(undos);

    const positions = history.elements.flatMap((element) => Array.from(element.readPositions));
    const state: SparseMemoryState = {
      readWeights: ops.pickSlots(
        readWeights,
        tf.tensor3d(ops.hostOneHot(readSlots, visible), [batch * readHeads, sparseReads, visible]),
      ),
      readPositions: tf.tensor3d(positions, [batch, readHeads, sparseReads], 'int32'),
      journal: ops.appendToJournal(
        prev.journal,
        memory,
        tf.tensor2d(
          ints((p) => p.writeSlots),
          [batch, writeSlots],
          'int32',
        ),
      ),
      history: tf.fill([batch], id, 'int32') as tf.Tensor1D,
      precedence: precedence === null ? tf.zeros([batch, 0]) : this.keptPrecedence(precedence, plans, history.elements),
    };
    const debug: MemoryStepDebug | undefined = options.debug
      ? sparseDebug({
          memory,
          readWeights,
          writeWeights,
          readVectors,
          links,
          readModes: this.readModesForDebug(controls, activated, batch),
          precedence,
          plan: plans[0],
          element: history.elements[0],
          sizes: this.sizes,
          time,
        })
      : undefined;
    return { readVectors, state, debug };
  }

  /** π `[batch, R, 3]` for the debug frame (SDNC), from whichever path parsed the interface. */
  private readModesForDebug(
    controls: SparseInterface | null,
    activated: SparseInterfaceArrays | null,
    batch: number,
  ): tf.Tensor3D | null {
    if (!this.temporal) return null;
    if (controls !== null) return controls.readModes;
    return activated === null ? null : tf.tensor3d(activated.readModes, [batch, this.readHeads, 3]);
  }

  /**
   * The new precedence `[batch, V]` at the P positions the host kept (`SparseLinks.precedence`, in its order):
   * `[batch, P]`. Every kept cell is visible, because p_t's support is p_{t−1}'s plus the written cells.
   */
  private keptPrecedence(
    precedence: tf.Tensor2D,
    plans: readonly VisiblePlan[],
    elements: readonly ElementStore[],
  ): tf.Tensor2D {
    const size = this.precedenceSize;
    const slots = new Int32Array(plans.length * size).fill(-1);
    elements.forEach((element, b) => {
      const slotOf = new Map<number, number>();
      plans[b].cells.forEach((cell, slot) => {
        if (cell >= 0) slotOf.set(cell, slot);
      });
      element.links?.precedence.cells.forEach((cell, i) => {
        const slot = slotOf.get(cell);
        if (slot === undefined)
          throw new Error(`${this.name}.step: precedence cell ${cell} is not visible (internal error)`);
        slots[b * size + i] = slot;
      });
    });
    const selection = tf.tensor3d(ops.hostOneHot(slots, precedence.shape[1]), [
      plans.length,
      size,
      precedence.shape[1],
    ]);
    const picked = ops.pickSlots(tf.expandDims(precedence, 1) as tf.Tensor3D, selection);
    return tf.reshape(picked, [plans.length, size]);
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

/** SAM: sparse content reads, writes to previously read rows or the least recently used row. */
export class SparseAccessMemory extends SparseMemory {
  constructor(config: SparseMemoryConfig, seed = 0) {
    super('SparseAccessMemory', config, false, seed);
  }
}

/** SDNC: SAM plus sparse temporal links and per-head read modes (backward, forward, content). */
export class SparseTemporalMemory extends SparseMemory {
  constructor(config: SparseMemoryConfig, seed = 0) {
    super('SparseTemporalMemory', config, true, seed);
  }
}
