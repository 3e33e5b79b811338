/**
 * The `npm run parity -- FILE.json …` command's logic: replay pytorch-dnc fixtures (memory module or whole DNC,
 * recognised by their fields) through the engine and report the largest absolute error per compared tensor.
 * Kept apart from the CLI entry so it can be called with an injected output sink.
 */
import { readFileSync } from 'node:fs';
import { DNC_REPLAY_MODES, isDncFixture, replayDncFixture } from './dnc-fixture';
import { replayMemoryFixture } from './memory-fixture';

/** Largest error that still counts as parity (the fixtures are float32; see their README). */
export const PARITY_TOLERANCE = 1e-4;

export type FixtureKind = 'memory' | 'dnc';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Classify a parsed fixture by its fields; undefined when it is neither kind. */
export function fixtureKind(json: unknown): FixtureKind | undefined {
  if (isDncFixture(json)) return 'dnc';
  if (isRecord(json) && 'steps' in json && 'initial_state' in json && 'params' in json) return 'memory';
  return undefined;
}

/** One compared tensor's result line. */
export interface ParityLine {
  readonly run: string;
  readonly tensor: string;
  readonly maxAbsError: number;
}

/** Replay one parsed fixture; throws with a clear message when fields are missing or malformed. */
export async function replayFixture(
  json: unknown,
  options: { injectSortOrder: boolean },
): Promise<{ kind: FixtureKind; lines: ParityLine[] }> {
  const kind = fixtureKind(json);
  if (kind === undefined) {
    throw new Error(
      'neither a memory fixture (fields params, initial_state, steps) ' +
        'nor a DNC fixture (fields params, inputs_x, stepwise/single_call)',
    );
  }
  const lines: ParityLine[] = [];
  if (kind === 'memory') {
    const report = await replayMemoryFixture(json, { injectSortOrder: options.injectSortOrder });
    for (const [tensor, error] of Object.entries(report.maxAbsError))
      lines.push({ run: 'memory', tensor, maxAbsError: error });
  } else {
    for (const mode of DNC_REPLAY_MODES) {
      if (mode === 'single-call' && !(isRecord(json) && 'single_call' in json)) continue;
      if (mode !== 'single-call' && !(isRecord(json) && 'stepwise' in json)) continue;
      const report = await replayDncFixture(json, { mode, injectSortOrder: options.injectSortOrder });
      for (const [tensor, error] of Object.entries(report.maxAbsError))
        lines.push({ run: mode, tensor, maxAbsError: error });
    }
  }
  return { kind, lines };
}

const USAGE =
  'usage: npm run parity -- [--no-inject] FILE.json [FILE.json …]\n' +
  '  replays pytorch-dnc memory or DNC fixtures; prints the largest abs error per tensor and max_abs_error=<x>;\n' +
  `  exits 1 when max_abs_error > ${PARITY_TOLERANCE}, 2 for a malformed file or bad arguments.\n` +
  "  --no-inject: keep the engine's stable tie order\n" +
  '               (per-cell state then differs on tied steps; reads and outputs do not)';

/**
 * Run the command. Returns the exit code: 0 parity, 1 above tolerance, 2 usage error or malformed file.
 * @param args command-line arguments after the script name
 */
export async function runParity(
  args: readonly string[],
  out: (line: string) => void = console.log,
  err: (line: string) => void = console.error,
): Promise<number> {
  const files = args.filter((a) => !a.startsWith('--'));
  const flags = args.filter((a) => a.startsWith('--'));
  const unknown = flags.filter((f) => f !== '--no-inject' && f !== '--help');
  if (flags.includes('--help')) {
    out(USAGE);
    return 0;
  }
  if (unknown.length > 0 || files.length === 0) {
    err(unknown.length > 0 ? `parity: unknown option ${unknown.join(', ')}` : 'parity: no fixture file given');
    err(USAGE);
    return 2;
  }
  const injectSortOrder = !flags.includes('--no-inject');
  let worst = 0;
  for (const file of files) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      err(`parity: cannot read ${file} as JSON: ${error instanceof Error ? error.message : String(error)}`);
      return 2;
    }
    let result: { kind: FixtureKind; lines: ParityLine[] };
    try {
      result = await replayFixture(json, { injectSortOrder });
    } catch (error) {
      err(`parity: cannot replay ${file}: ${error instanceof Error ? error.message : String(error)}`);
      return 2;
    }
    out(`${file} (${result.kind} fixture${injectSortOrder ? ', recorded tie orders injected' : ', stable tie order'})`);
    const width = Math.max(...result.lines.map((l) => `${l.run} ${l.tensor}`.length));
    for (const line of result.lines) {
      out(
        `  ${`${line.run} ${line.tensor}`.padEnd(width)}  ` +
          `${line.maxAbsError.toExponential(2)}${line.maxAbsError > PARITY_TOLERANCE ? '  FAIL' : ''}`,
      );
      worst = Math.max(worst, line.maxAbsError);
    }
  }
  out(`max_abs_error=${worst.toExponential(3)}`);
  return worst > PARITY_TOLERANCE || Number.isNaN(worst) ? 1 : 0;
}
