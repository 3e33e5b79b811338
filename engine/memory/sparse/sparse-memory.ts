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
import { assertShape } from '../../util/assert-shape';
import { affine } from '../../util/affine';
import type { MemoryModule, MemoryStepDebug, MemoryStepResult, PreparedInterface } from '../types';
import type { ElementStore, ElementUndo } from './element-store';
import { fusedVisibleStepFromRaw } from './fused-visible-step';
import { askIndexesAhead } from './index/ask-ahead';
import {
  activateSparseInterface,
  parseSparseInterface,
  type SparseInterface,
  type SparseInterfaceArrays,
} from './sparse-interface';
import { sparseDebug } from './sparse-debug';
import { SparseMemoryBase, type SparseMemoryConfig, type SparseMemoryState } from './sparse-memory-base';
import * as ops from './sparse-step';
import { stepOutcome } from './step-outcome';
import type { VisibleStepPlan, VisibleStepSizes } from './visible-step-types';
import { planVisible, stackPlans, type VisiblePlan } from './visible-set';

export { ACCESS_THRESHOLD } from './step-outcome';

class SparseMemory extends SparseMemoryBase implements MemoryModule<SparseMemoryState> {
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
