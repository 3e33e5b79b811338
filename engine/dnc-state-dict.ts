/** Loading pytorch-dnc `state_dict` weights into a DNC's variables, checked before anything is assigned. */
import * as tf from '@tensorflow/tfjs';

/** Shape of one tensor entry of a pytorch `state_dict` exported as JSON. */
export interface StateDictEntry {
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

/**
 * Copy pytorch weights into the variables. `params` maps `state_dict` names to `{shape, data}` (row-major).
 * With `strict` (default) missing and unexpected names are errors, as in PyTorch's `load_state_dict`.
 */
export function loadStateDictInto(
  variables: ReadonlyMap<string, tf.Variable>,
  params: Readonly<Record<string, StateDictEntry>> | ReadonlyMap<string, StateDictEntry>,
  options: { strict?: boolean } = {},
): void {
  const entries = params instanceof Map ? new Map(params) : new Map(Object.entries(params));
  const strict = options.strict ?? true;
  const missing = [...variables.keys()].filter((name) => !entries.has(name));
  const unexpected = [...entries.keys()].filter((name) => !variables.has(name));
  if (strict && (missing.length > 0 || unexpected.length > 0)) {
    throw new Error(
      `DNC.loadStateDict: missing ${missing.length === 0 ? 'none' : missing.join(', ')}; unexpected ` +
        `${unexpected.length === 0 ? 'none' : unexpected.join(', ')}`,
    );
  }
  // Check everything before assigning anything, so a bad dict leaves the model untouched.
  const assignments: [tf.Variable, Float32Array][] = [];
  for (const [name, variable] of variables) {
    const entry = entries.get(name);
    if (entry === undefined) continue;
    const shape = [...entry.shape];
    if (shape.length !== variable.shape.length || shape.some((d, i) => d !== variable.shape[i])) {
      throw new Error(
        `DNC.loadStateDict: '${name}' has shape [${shape.join(', ')}], the model expects ` +
          `[${variable.shape.join(', ')}]`,
      );
    }
    if (entry.data.length !== variable.size) {
      throw new Error(
        `DNC.loadStateDict: '${name}' has ${entry.data.length} values for shape [${shape.join(', ')}] ` +
          `(${variable.size} needed)`,
      );
    }
    const data = Float32Array.from(entry.data);
    if (!data.every(Number.isFinite)) throw new Error(`DNC.loadStateDict: '${name}' contains NaN or infinite values`);
    assignments.push([variable, data]);
  }
  for (const [variable, data] of assignments) {
    tf.tidy(() => variable.assign(tf.tensor(data, variable.shape)));
  }
}
