/**
 * Bringing pytorch-dnc weights in: a PyTorch `state_dict` exported as JSON, `name → {shape, data}` (row-major),
 * loads into a `DNC` whose variables carry the same names (`lstm_layer_0.weight_ih_l0`,
 * `rnn_layer_memory_shared.interface_weights.weight`, `output.weight`, …). A parity fixture file (whose `params`
 * field is such a record) is accepted too, and so is `{"state_dict": {...}}` or `tensor.tolist()` nested arrays.
 *
 * Export from Python (no extra packages):
 * ```python
 * import json
 * sd = net.state_dict()
 * tensors = {k: {"shape": list(v.shape), "data": v.flatten().tolist()} for k, v in sd.items()}
 * json.dump(tensors, open("weights.json", "w"))
 * ```
 * Then `loadPytorchWeights(model, 'weights.json')`, with the model built from `inferDNCOptions` or by hand.
 */
import { readFileSync } from 'node:fs';
import type { DNC, DNCOptions } from './dnc';
import type { StateDictEntry } from './dnc-state-dict';

export type StateDict = Readonly<Record<string, StateDictEntry>>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Flatten nested number arrays (`tensor.tolist()`), returning the data and the shape they imply. */
function flattenNested(value: unknown, where: string): { shape: number[]; data: number[] } {
  if (typeof value === 'number') return { shape: [], data: [value] };
  if (!Array.isArray(value))
    throw new Error(`${where}: expected numbers or nested arrays of numbers, got ${typeof value}`);
  if (value.length === 0) return { shape: [0], data: [] };
  const parts = value.map((item, i) => flattenNested(item, `${where}[${i}]`));
  const inner = parts[0].shape;
  parts.forEach((p, i) => {
    if (p.shape.length !== inner.length || p.shape.some((d, k) => d !== inner[k])) {
      throw new Error(
        `${where}[${i}]: ragged nested array, shape [${p.shape.join(', ')}] next to [${inner.join(', ')}]`,
      );
    }
  });
  return { shape: [value.length, ...inner], data: parts.flatMap((p) => p.data) };
}

/** Validate one entry; `where` names it in errors. */
function parseEntry(value: unknown, where: string): StateDictEntry {
  if (Array.isArray(value) || typeof value === 'number') return flattenNested(value, where);
  if (!isRecord(value))
    throw new Error(`${where}: expected {shape, data}, got ${value === null ? 'null' : typeof value}`);
  const { shape, data } = value;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new Error(`${where}.shape: expected an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  const flat = Array.isArray(data) && data.some(Array.isArray) ? flattenNested(data, `${where}.data`).data : data;
  if (!Array.isArray(flat) || !flat.every((v) => typeof v === 'number')) {
    throw new Error(
      `${where}.data: expected an array of numbers, got ` +
        `${Array.isArray(flat) ? 'an array with non-numbers' : typeof flat}`,
    );
  }
  const size = (shape as number[]).reduce((a, b) => a * b, 1);
  if (flat.length !== size)
    throw new Error(`${where}.data: ${flat.length} values for shape [${shape.join(', ')}] (${size} needed)`);
  return { shape: shape as number[], data: flat as number[] };
}

/**
 * Turn parsed JSON into a state dict. Accepts a plain `name → {shape, data}` record, `{params: …}` (a parity
 * fixture) or `{state_dict: …}`; entries may also be nested arrays. Throws naming the source and the bad entry.
 */
export function parseStateDict(json: unknown, source = 'state dict'): StateDict {
  if (!isRecord(json))
    throw new Error(
      `${source}: expected a JSON object of name → {shape, data}, got ` +
        `${Array.isArray(json) ? 'an array' : typeof json}`,
    );
  const body = isRecord(json.params) ? json.params : isRecord(json.state_dict) ? json.state_dict : json;
  const names = Object.keys(body);
  if (names.length === 0) throw new Error(`${source}: no parameters found`);
  const out: Record<string, StateDictEntry> = {};
  for (const name of names) out[name] = parseEntry(body[name], `${source}: '${name}'`);
  return out;
}

/** Read and parse a JSON state dict (or fixture) from disk. */
export function readStateDictFile(path: string): StateDict {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(
      `readStateDictFile: cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(
      `readStateDictFile: ${path} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return parseStateDict(json, path);
}

/**
 * Load pytorch weights into a model from a file path, parsed JSON or a state dict (strict: every name must match).
 * @example loadPytorchWeights(model, 'weights.json');
 */
export function loadPytorchWeights(model: DNC, source: string | StateDict | Record<string, unknown>): void {
  const stateDict = typeof source === 'string' ? readStateDictFile(source) : parseStateDict(source);
  model.loadStateDict(stateDict);
}

/**
 * Recover the DNC options a pytorch-dnc state dict implies: rnnType, numLayers, numHiddenLayers, hiddenSize,
 * bias, shareMemory, independentLinears, readHeads, cellSize, inputSize and outputSize. `nrCells` (N) leaves
 * no trace in the weights and must come from the caller.
 */
export function inferDNCOptions(stateDict: StateDict): Omit<DNCOptions, 'nrCells'> {
  const names = Object.keys(stateDict);
  const shapeOf = (name: string): readonly number[] => {
    const entry = stateDict[name];
    if (entry === undefined) throw new Error(`inferDNCOptions: parameter '${name}' is missing`);
    return entry.shape;
  };
  const layerMatch = names
    .map((n) => /^(lstm|gru|rnn)_layer_(\d+)\.weight_ih_l(\d+)$/.exec(n))
    .filter((m) => m !== null);
  if (layerMatch.length === 0)
    throw new Error(
      `inferDNCOptions: no controller weights ('{lstm,gru,rnn}_layer_0.weight_ih_l0') among ${names.join(', ')}`,
    );
  const rnnType = layerMatch[0][1] as 'lstm' | 'gru' | 'rnn';
  const numLayers = Math.max(...layerMatch.map((m) => Number(m[2]))) + 1;
  const numHiddenLayers = Math.max(...layerMatch.filter((m) => m[2] === '0').map((m) => Number(m[3]))) + 1;
  const prefix = `${rnnType}_layer_0`;
  const hiddenSize = shapeOf(`${prefix}.weight_hh_l0`)[1];
  const bias = names.includes(`${prefix}.bias_ih_l0`);
  const shareMemory = names.some((n) => n.startsWith('rnn_layer_memory_shared.'));
  const memoryPrefix = shareMemory ? 'rnn_layer_memory_shared' : 'rnn_layer_memory_0';
  const independentLinears = names.includes(`${memoryPrefix}.read_keys_transform.weight`);
  const [outputSize, outputColumns] = shapeOf('output.weight');
  const readSize = outputColumns - hiddenSize;
  let readHeads: number | undefined;
  if (independentLinears) {
    readHeads = shapeOf(`${memoryPrefix}.read_strengths_transform.weight`)[0];
  } else {
    // interface width = R·W + 3W + 5R + 3 with R·W = readSize: find the R that makes W an integer.
    const interfaceWidth = shapeOf(`${memoryPrefix}.interface_weights.weight`)[0];
    for (let r = 1; r <= readSize; r++) {
      if (readSize % r === 0 && readSize + 3 * (readSize / r) + 5 * r + 3 === interfaceWidth) readHeads = r;
    }
  }
  if (readHeads === undefined || readSize % readHeads !== 0) {
    throw new Error(
      `inferDNCOptions: cannot split the read width ${readSize} (output.weight columns − hidden) into heads × cell ` +
        `width`,
    );
  }
  const inputSize = shapeOf(`${prefix}.weight_ih_l0`)[1] - readSize;
  return {
    inputSize,
    hiddenSize,
    rnnType,
    numLayers,
    numHiddenLayers,
    bias,
    shareMemory,
    independentLinears,
    readHeads,
    cellSize: readSize / readHeads,
    outputSize,
  };
}
