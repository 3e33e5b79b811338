/**
 * The dense memory's debug read-out (what the dashboard shows of one step): every tensor's name, axis labels and
 * known range, in one table that both the plain path (`dense-memory.ts`) and the fused kernel
 * (`fused/fused-memory-step.ts`) fill, so the two cannot drift apart. Axis names follow engine/README.md.
 */
import type * as tf from '@tensorflow/tfjs';
import type { MemoryStepDebug } from './types';

/** Weightings, usage, links, gates and read modes lie in [0, 1]. */
const UNIT_RANGE: readonly [number, number] = [0, 1];

/** One debug tensor: axis labels without the batch axis, and its range when one is known. */
export interface DebugTensorSpec {
  readonly axes: readonly string[];
  readonly range?: readonly [number, number];
}

/** The dense step's debug tensors, in display order. */
export const DENSE_DEBUG_TENSORS = {
  memory: { axes: ['cell', 'word'] },
  linkMatrix: { axes: ['cell', 'cell'], range: UNIT_RANGE },
  precedence: { axes: ['cell'], range: UNIT_RANGE },
  readWeights: { axes: ['head', 'cell'], range: UNIT_RANGE },
  writeWeights: { axes: ['cell'], range: UNIT_RANGE },
  usage: { axes: ['cell'], range: UNIT_RANGE },
  allocationWeights: { axes: ['cell'], range: UNIT_RANGE },
  writeContentWeights: { axes: ['cell'], range: UNIT_RANGE },
  readContentWeights: { axes: ['head', 'cell'], range: UNIT_RANGE },
  readModes: { axes: ['head', 'mode'], range: UNIT_RANGE },
  freeGates: { axes: ['head'], range: UNIT_RANGE },
  allocationGate: { axes: ['gate'], range: UNIT_RANGE },
  writeGate: { axes: ['gate'], range: UNIT_RANGE },
  readVectors: { axes: ['head', 'word'] },
} as const satisfies Record<string, DebugTensorSpec>;

export type DenseDebugName = keyof typeof DENSE_DEBUG_TENSORS;

/**
 * The debug output from one tensor per table entry (batch element 0, no batch axis), labelled from the table.
 * `tensorFor` is called once per name, in table order.
 */
export function denseDebugOutput(tensorFor: (name: DenseDebugName) => tf.Tensor): MemoryStepDebug {
  const tensors: Record<string, tf.Tensor> = {};
  const axes: Record<string, readonly string[]> = {};
  const ranges: Record<string, readonly [number, number]> = {};
  for (const name of Object.keys(DENSE_DEBUG_TENSORS) as DenseDebugName[]) {
    const spec: DebugTensorSpec = DENSE_DEBUG_TENSORS[name];
    tensors[name] = tensorFor(name);
    axes[name] = spec.axes;
    if (spec.range !== undefined) ranges[name] = spec.range;
  }
  return { tensors, axes, ranges };
}
