/**
 * The copy task (Graves et al. 2014, used for the DNC in pytorch-dnc's `tasks/copy_task.py`): a sequence of
 * random bit vectors, an end marker, then the same sequence must be written back. Episode length 2L + 1.
 *
 * Channels: `inputSize − 1` data bits plus the end-marker channel (the last one). The target repeats the bits
 * after the marker and is zero elsewhere, so the loss also asks for silence while reading, exactly as
 * pytorch-dnc's criterion does. The metric is the bit error rate over the L answer steps only.
 */
import { repeatedCopyTask } from './repeat-copy';
import type { Task, TaskConfig } from './types';

export function createCopyTask(config: TaskConfig): Task {
  return repeatedCopyTask('copy', config.inputSize, 1);
}
