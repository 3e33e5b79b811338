/**
 * Command-line flags of `npm run train`: pytorch-dnc's copy-task flags (one per TrainConfig field, snake_case or
 * kebab-case, one or two leading dashes, `--flag value` or `--flag=value`) plus the run controls `--seed`,
 * `--checkpoint_dir`, `--resume [path]`, `--json` and `--help`. Parsing validates every value up front, so a bad
 * flag stops the command before anything starts.
 */
import {
  canonicalFieldName,
  isTrainField,
  parseFieldValue,
  resolveTrainConfig,
  TRAIN_FIELDS,
} from '../training/config';
import { ConfigError, type TrainConfig } from '../training/types';

/** What the command line asks for. */
export type TrainCommand =
  | { readonly kind: 'help' }
  | {
      readonly kind: 'run';
      /** Config fields given on the command line (validated), as typed. */
      readonly fields: Readonly<Partial<Record<keyof TrainConfig, number | string>>>;
      /** The resolved config for a fresh run (defaults filled); unused when resuming. */
      readonly config: TrainConfig;
      readonly checkpointDir?: string;
      /** `true`: resume from `<checkpointDir>/latest.ckpt`; a string: from that file. */
      readonly resume?: true | string;
      readonly json: boolean;
    };

/** The file a run directory's newest checkpoint lives in. */
export const LATEST_CHECKPOINT = 'latest.ckpt';

/** Parse `argv` (without node and script). Throws ConfigError naming the flag and value on any problem. */
export function parseTrainArgs(argv: readonly string[]): TrainCommand {
  const fields: Partial<Record<keyof TrainConfig, number | string>> = {};
  let checkpointDir: string | undefined;
  let resume: true | string | undefined;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (!token.startsWith('-') || token === '-' || token === '--') {
      throw new ConfigError(token, 'unexpected argument (flags start with --)');
    }
    const body = token.replace(/^--?/, '');
    const equals = body.indexOf('=');
    const rawName = equals < 0 ? body : body.slice(0, equals);
    const inlineValue = equals < 0 ? undefined : body.slice(equals + 1);
    const name = canonicalFieldName(rawName);
    const flag = `--${rawName}`;
    const takeValue = (): string => {
      if (inlineValue !== undefined) return inlineValue;
      const next = argv[i + 1];
      // A value may look like a negative number, never like another flag.
      if (next === undefined || (next.startsWith('-') && !/^-\d/.test(next)))
        throw new ConfigError(flag, 'needs a value');
      i += 1;
      return next;
    };
    if (name === 'help' || name === 'h') return { kind: 'help' };
    if (name === 'json') {
      if (inlineValue !== undefined) throw new ConfigError(flag, `takes no value, got '${inlineValue}'`);
      json = true;
    } else if (name === 'checkpoint_dir') {
      checkpointDir = takeValue();
      if (checkpointDir === '') throw new ConfigError(flag, 'needs a directory');
    } else if (name === 'resume') {
      const next = argv[i + 1];
      if (inlineValue !== undefined) resume = inlineValue;
      else if (next !== undefined && !next.startsWith('-')) {
        resume = next;
        i += 1;
      } else resume = true;
      if (resume === '') throw new ConfigError(flag, 'needs a checkpoint file');
    } else if (isTrainField(name)) {
      if (fields[name] !== undefined) throw new ConfigError(flag, 'given twice');
      fields[name] = parseFieldValue(name, takeValue());
    } else {
      throw new ConfigError(flag, 'unknown flag (see --help)');
    }
  }
  if (resume === true && checkpointDir === undefined) {
    throw new ConfigError(
      '--resume',
      `without a file needs --checkpoint_dir (it resumes from <checkpoint_dir>/${LATEST_CHECKPOINT})`,
    );
  }
  const config = resolveTrainConfig(fields);
  return { kind: 'run', fields, config, checkpointDir, resume, json };
}

/** The `--help` text. */
export function trainUsage(): string {
  const lines = [
    'Usage: npm run train -- [flags]',
    '',
    'Trains a DNC on an algorithmic task (pytorch-dnc task-script flags; snake_case or kebab-case).',
    '',
    'Run config:',
  ];
  for (const [name, spec] of Object.entries(TRAIN_FIELDS)) {
    const values = spec.kind === 'choice' ? ` {${(spec.choices ?? []).join('|')}}` : ` <${spec.kind}>`;
    lines.push(`${`  --${name}${values}`.padEnd(57)} ${spec.help} (default ${spec.default})`);
  }
  lines.push(
    '',
    'Run control:',
    `${'  --checkpoint_dir <dir>'.padEnd(57)} write <dir>/${LATEST_CHECKPOINT} every check_freq iterations and at ` +
      `the end`,
    `${'  --resume [file]'.padEnd(57)} continue from a checkpoint (default <checkpoint_dir>/${LATEST_CHECKPOINT});`,
    `${''.padEnd(57)} only iterations, summarize_freq, check_freq and lr may change`,
    `${'  --json'.padEnd(57)} one JSON line per iteration and a JSON summary instead of the progress bar`,
    `${'  --help'.padEnd(57)} this text`,
    '',
    'Backend: ENGRAM_BACKEND=tensorflow-gpu|tensorflow|wasm|cpu (default: the first that loads).',
    'Exit codes: 0 done, 1 training failed (NaN/Inf, unreadable checkpoint), 2 bad flags.',
  );
  return lines.join('\n');
}
