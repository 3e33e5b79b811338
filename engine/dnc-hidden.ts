/**
 * The DNC's hidden state between calls: its type, the check of a caller's state against the model, the list of its
 * tensors, and the freeing of memory states a call has replaced.
 */
import * as tf from '@tensorflow/tfjs';
import type { StackedController } from './controller/stacked';
import type { ControllerState } from './controller/types';
import type { ResolvedDNCOptions } from './dnc-options';
import type { MemoryModule, MemoryState, MemoryStepDebug, MemoryStepResult } from './memory/types';

/** Everything a DNC carries from one call to the next. The caller owns these tensors (`disposeHidden`). */
export interface DNCHidden {
  /** Controller state per DNC layer: `hidden` (and `cell` for LSTM) per hidden layer, each `[batch, hidden]`. */
  readonly controller: readonly ControllerState[];
  /** Memory state: one entry when memory is shared, else one per DNC layer (shapes from `stateShapes`). */
  readonly memory: readonly MemoryState[];
  /** Last read vectors per DNC layer, `[batch, readHeads·cellSize]` flattened head-major. */
  readonly readVectors: readonly tf.Tensor2D[];
}

/** Throw naming the field when `hidden` does not fit this model (`DNC.forward`'s check of its `hidden` argument). */
export function checkHidden(
  hidden: DNCHidden,
  batchSize: number,
  o: ResolvedDNCOptions,
  controllers: readonly StackedController[],
  memories: readonly MemoryModule[],
): void {
  if (hidden === null || typeof hidden !== 'object')
    throw new Error(`DNC.forward: argument 'hidden' must be a DNCHidden, got ${String(hidden)}`);
  if (!Array.isArray(hidden.controller) || hidden.controller.length !== o.numLayers) {
    throw new Error(
      `DNC.forward: hidden.controller must have ${o.numLayers} entries (numLayers), got ` +
        `${Array.isArray(hidden.controller) ? hidden.controller.length : typeof hidden.controller}`,
    );
  }
  hidden.controller.forEach((state, layer) =>
    controllers[layer].checkState(state, batchSize, `DNC.forward: hidden.controller[${layer}]`),
  );
  if (!Array.isArray(hidden.memory) || hidden.memory.length !== memories.length) {
    throw new Error(
      `DNC.forward: hidden.memory must have ${memories.length} entries ` +
        `(${o.shareMemory ? 'shared memory' : 'one per layer'}), got ` +
        `${Array.isArray(hidden.memory) ? hidden.memory.length : typeof hidden.memory}`,
    );
  }
  hidden.memory.forEach((state, i) => {
    for (const [name, shape] of Object.entries(memories[i].stateShapes(batchSize))) {
      const actual: readonly number[] | undefined = state[name]?.shape;
      if (actual === undefined || actual.length !== shape.length || actual.some((d, k) => d !== shape[k])) {
        throw new Error(
          `DNC.forward: hidden.memory[${i}].${name} must have shape [${shape.join(', ')}], got ` +
            `${actual === undefined ? 'undefined' : `[${actual.join(', ')}]`}`,
        );
      }
    }
  });
  const readSize = o.readHeads * o.cellSize;
  if (!Array.isArray(hidden.readVectors) || hidden.readVectors.length !== o.numLayers) {
    throw new Error(
      `DNC.forward: hidden.readVectors must have ${o.numLayers} entries (numLayers), got ` +
        `${Array.isArray(hidden.readVectors) ? hidden.readVectors.length : typeof hidden.readVectors}`,
    );
  }
  hidden.readVectors.forEach((t, layer) => {
    if (t.rank !== 2 || t.shape[0] !== batchSize || t.shape[1] !== readSize) {
      throw new Error(
        `DNC.forward: hidden.readVectors[${layer}] must have shape [${batchSize}, ${readSize}], got ` +
          `[${t.shape.join(', ')}]`,
      );
    }
  });
}

/** A memory state this call owns, with the debug output of the step that made it (none for the initial state). */
export interface SpentState {
  readonly state: MemoryState;
  readonly debug?: MemoryStepDebug;
}

/**
 * Free a state this call made (a step's, or the fresh initial one), now that the next step has replaced it, rather
 * than when the call's tidy ends: nothing reads it again (the fused dense step keeps host copies for its backward,
 * and taped tfjs ops keep their own clones of what their gradients need). At N 1024 each spent link matrix is 32 MB
 * of wasm heap, and that heap never shrinks, so holding all T of them until the end set the process's peak. Tensors
 * the new state or either step's debug output still hold are kept.
 */
export function disposeSpentState(spent: SpentState, next: MemoryStepResult<MemoryState>): void {
  const live = new Set<tf.Tensor>(
    [spent, next].flatMap((step) => Object.values(step.debug?.tensors ?? {})).concat(Object.values(next.state)),
  );
  tf.dispose(Object.values(spent.state).filter((tensor) => !live.has(tensor)));
}

export function mapState(state: MemoryState, fn: (t: tf.Tensor) => tf.Tensor): MemoryState {
  return Object.fromEntries(Object.entries(state).map(([k, t]) => [k, fn(t)]));
}

/** Every tensor of a hidden state, for keep/dispose. */
export function hiddenTensors(hidden: DNCHidden): tf.Tensor[] {
  return [
    ...hidden.controller.flatMap((s) => [...s.hidden, ...(s.cell ?? [])]),
    ...hidden.memory.flatMap((s) => Object.values(s)),
    ...hidden.readVectors,
  ];
}
