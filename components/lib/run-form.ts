/**
 * The new-run form: its fields, defaults small enough to stay lively on a 2-core CPU, and client-side validation
 * whose messages name the field, mirroring what the server checks so most mistakes never make a round trip.
 */
import type { RunConfigInput } from '../../server/protocol';

export const TASKS = ['copy', 'repeat-copy', 'associative-recall', 'adding', 'argmax'] as const;
export const MEMORY_TYPES = ['dnc', 'sam', 'sdnc'] as const;
export const RNN_TYPES = ['lstm', 'gru', 'rnn'] as const;
export const OPTIMIZERS = ['adam', 'adamax', 'rmsprop', 'sgd', 'adagrad', 'adadelta'] as const;

interface NumberField {
  kind: 'int' | 'float';
  key: string;
  label: string;
  min: number;
  max: number;
  /** Paper symbol or short hint shown beside the label. */
  hint?: string;
}
interface ChoiceField {
  kind: 'choice';
  key: string;
  label: string;
  options: readonly string[];
}
export type RunFormField = NumberField | ChoiceField;

export const RUN_FORM_FIELDS: readonly RunFormField[] = [
  { kind: 'choice', key: 'task', label: 'Task', options: TASKS },
  { kind: 'choice', key: 'memory_type', label: 'Model', options: MEMORY_TYPES },
  { kind: 'choice', key: 'rnn_type', label: 'Controller', options: RNN_TYPES },
  { kind: 'int', key: 'nhid', label: 'Hidden', min: 1, max: 4096, hint: 'controller units' },
  { kind: 'int', key: 'mem_slot', label: 'Cells', min: 1, max: 65536, hint: 'N' },
  { kind: 'int', key: 'mem_size', label: 'Width', min: 1, max: 1024, hint: 'W' },
  { kind: 'int', key: 'read_heads', label: 'Read heads', min: 1, max: 16, hint: 'R' },
  { kind: 'int', key: 'nlayer', label: 'Layers', min: 1, max: 8 },
  { kind: 'choice', key: 'optim', label: 'Optimizer', options: OPTIMIZERS },
  { kind: 'float', key: 'lr', label: 'Learning rate', min: 1e-8, max: 10 },
  { kind: 'int', key: 'batch_size', label: 'Batch', min: 1, max: 1024 },
  { kind: 'int', key: 'sequence_max_length', label: 'Max length', min: 1, max: 1000, hint: 'sequence' },
  { kind: 'int', key: 'seed', label: 'Seed', min: 0, max: 2 ** 31 - 1 },
  { kind: 'int', key: 'summarize_freq', label: 'Frame every', min: 1, max: 1_000_000, hint: 'iterations' },
  { kind: 'int', key: 'iterations', label: 'Iterations', min: 1, max: 100_000_000 },
];

export type RunFormValues = Record<string, string>;

export const DEFAULT_RUN_FORM: RunFormValues = {
  task: 'copy',
  memory_type: 'dnc',
  rnn_type: 'lstm',
  nhid: '64',
  mem_slot: '16',
  mem_size: '16',
  read_heads: '2',
  nlayer: '1',
  optim: 'adam',
  lr: '0.001',
  batch_size: '8',
  sequence_max_length: '4',
  seed: '1',
  summarize_freq: '1',
  iterations: '100000',
};

export interface ParsedRunForm {
  config: RunConfigInput;
  /** Field key → message naming the field and the value. Empty when the form is valid. */
  errors: Record<string, string>;
}

/** Validate the form's string values and build the config to send. */
export function parseRunForm(values: RunFormValues): ParsedRunForm {
  const config: RunConfigInput = {};
  const errors: Record<string, string> = {};
  for (const field of RUN_FORM_FIELDS) {
    const raw = (values[field.key] ?? '').trim();
    if (field.kind === 'choice') {
      if (!field.options.includes(raw))
        errors[field.key] = `${field.label} must be one of ${field.options.join(', ')}; got "${raw}"`;
      else config[field.key] = raw;
      continue;
    }
    if (raw === '') {
      errors[field.key] = `${field.label} is required`;
      continue;
    }
    const n = Number(raw);
    if (!Number.isFinite(n)) {
      errors[field.key] = `${field.label} must be a number; got "${raw}"`;
    } else if (field.kind === 'int' && !Number.isInteger(n)) {
      errors[field.key] = `${field.label} must be a whole number; got ${raw}`;
    } else if (n < field.min || n > field.max) {
      errors[field.key] = `${field.label} must be between ${field.min} and ${field.max}; got ${raw}`;
    } else {
      config[field.key] = n;
    }
  }
  return { config, errors };
}

/**
 * Which form field a server `bad_request` message is about: the server names the config field (its flag name)
 * first, as `field: message` or inside the text. Returns null when no form field is named.
 */
export function fieldOfServerError(message: string): string | null {
  const lead = /^\s*(?:config\.)?([a-z_]+)\s*[:=]/.exec(message);
  if (lead && RUN_FORM_FIELDS.some((f) => f.key === lead[1])) return lead[1];
  let best: string | null = null;
  let at = Infinity;
  for (const f of RUN_FORM_FIELDS) {
    const m = new RegExp(`\\b${f.key}\\b`).exec(message);
    if (m && m.index < at) {
      at = m.index;
      best = f.key;
    }
  }
  return best;
}
