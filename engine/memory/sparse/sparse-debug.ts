/**
 * Debug tensors of one sparse-memory step for batch element 0 (Rae et al. 2016's quantities, restricted to the
 * visible set so a 1M-cell memory yields small frames): read positions, the visible rows, read and write weights
 * over them, usage, the least recently used cell, the SDNC's links among visible cells and its read modes, and the
 * read vectors. Every tensor names its axes, and shapes are fixed per configuration, so the DNC wrapper can stack
 * them over time and the dashboard can show them without sparse-specific code.
 */
import * as tf from '@tensorflow/tfjs';
import type { MemoryStepDebug } from '../types';
import type { ElementStore } from './element-store';
import type { VisiblePlan, VisibleSizes } from './visible-set';

/** Up to this many cells, `usage` covers the whole memory; above it, only the visible cells. */
export const FULL_USAGE_MAX_CELLS = 1024;

export interface SparseDebugInput {
  /** `[batch, V, W]` visible rows after the write. */
  readonly memory: tf.Tensor3D;
  /** `[batch, R, V]`, `[batch, V]`, `[batch, R, W]`. */
  readonly readWeights: tf.Tensor3D;
  readonly writeWeights: tf.Tensor2D;
  readonly readVectors: tf.Tensor3D;
  /** SDNC only: `[batch, V, V]` and `[batch, R, 3]`. */
  readonly links: tf.Tensor3D | null;
  readonly readModes: tf.Tensor3D | null;
  /** SDNC only: `[batch, V]` the new precedence over the visible cells. */
  readonly precedence: tf.Tensor2D | null;
  readonly plan: VisiblePlan;
  readonly element: ElementStore;
  readonly sizes: VisibleSizes;
  /** This step's access time (1 for the first step after a reset). */
  readonly time: number;
}

function first(tensor: tf.Tensor): tf.Tensor {
  return tf.squeeze(tf.slice(tensor, 0, 1), [0]);
}

/**
 * Usage shown as recency in [0, 1]: last access time / current time (1 = accessed this step, 0 = never). The
 * LRU cell is the one with the smallest value, lowest index first.
 */
function usage(input: SparseDebugInput): { values: Float32Array; axis: string } {
  const { element, plan, time, sizes } = input;
  if (sizes.memorySize <= FULL_USAGE_MAX_CELLS) {
    return { values: Float32Array.from(element.lru.accessTime, (t) => t / time), axis: 'cell' };
  }
  return {
    values: Float32Array.from(plan.cells, (cell) => (cell < 0 ? 0 : element.lru.accessTime[cell] / time)),
    axis: 'visible',
  };
}

export function sparseDebug(input: SparseDebugInput): MemoryStepDebug {
  const { sizes, element, plan } = input;
  const recency = usage(input);
  const tensors: Record<string, tf.Tensor> = {
    readPositions: tf.tensor2d(Float32Array.from(element.readPositions), [sizes.readHeads, sizes.sparseReads]),
    visibleCells: tf.tensor1d(Float32Array.from(plan.cells)),
    visibleMemory: first(input.memory),
    readWeights: first(input.readWeights),
    writeWeights: first(input.writeWeights),
    usage: tf.tensor1d(recency.values),
    leastUsedCell: tf.tensor1d([plan.leastUsedCell]),
    readVectors: first(input.readVectors),
  };
  const axes: Record<string, readonly string[]> = {
    readPositions: ['head', 'slot'],
    visibleCells: ['visible'],
    visibleMemory: ['visible', 'word'],
    readWeights: ['head', 'visible'],
    writeWeights: ['visible'],
    usage: [recency.axis],
    leastUsedCell: ['value'],
    readVectors: ['head', 'word'],
  };
  const ranges: Record<string, readonly [number, number]> = {
    readWeights: [0, 1],
    writeWeights: [0, 1],
    usage: [0, 1],
  };
  if (input.links !== null && input.readModes !== null && input.precedence !== null) {
    tensors.linkMatrix = first(input.links);
    tensors.precedence = first(input.precedence);
    tensors.readModes = first(input.readModes);
    axes.linkMatrix = ['visible', 'visible'];
    axes.precedence = ['visible'];
    axes.readModes = ['head', 'mode'];
    ranges.linkMatrix = [0, 1];
    ranges.readModes = [0, 1];
    ranges.precedence = [0, 1];
  }
  return { tensors, axes, ranges };
}
