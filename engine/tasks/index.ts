/**
 * Task registry: builds the task a training config names. See each task module for its layout and metric.
 */
import type { TaskName } from '../training/types';
import { createAddingTask } from './adding';
import { createArgmaxTask } from './argmax';
import { createAssociativeRecallTask } from './associative-recall';
import { createCopyTask } from './copy';
import { createRepeatCopyTask } from './repeat-copy';
import type { Task, TaskConfig } from './types';

export type { Task, TaskBatch, TaskConfig } from './types';
export { createAddingTask, createArgmaxTask, createAssociativeRecallTask, createCopyTask, createRepeatCopyTask };

const FACTORIES: Record<TaskName, (config: TaskConfig) => Task> = {
  copy: createCopyTask,
  'repeat-copy': createRepeatCopyTask,
  'associative-recall': createAssociativeRecallTask,
  adding: createAddingTask,
  argmax: createArgmaxTask,
};

/** Every task name, in the order the CLI lists them. */
export const TASK_NAMES: readonly TaskName[] = ['copy', 'repeat-copy', 'associative-recall', 'adding', 'argmax'];

/** Build the task `name` for `config`; throws naming the task when it is unknown. */
export function createTask(name: TaskName, config: TaskConfig): Task {
  const factory = FACTORIES[name];
  if (!factory) throw new Error(`createTask: unknown task '${String(name)}' (known: ${TASK_NAMES.join(', ')})`);
  return factory(config);
}
