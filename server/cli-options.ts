/**
 * Command-line and environment options of `npm run dev` / `npm start`: `--port`/PORT, `--host`/HOST,
 * `--data-dir`/ENGRAM_DATA_DIR, `--fresh`, `--no-next` (API and socket.io only), ENGRAM_TOKEN,
 * ENGRAM_CHECKPOINT_MS, ENGRAM_COMMAND_TIMEOUT_MS and ENGRAM_STOP_GRACE_MS (the bounds on a run's commands),
 * ENGRAM_MAX_FRAMES and ENGRAM_MAX_FRAME_MB (the per-run frame budget), ENGRAM_FRAME_LIMIT_MB (the largest single
 * frame kept), `--storage-budget-mb N`/ENGRAM_STORAGE_BUDGET_MB (the global storage budget over all runs; default
 * 2048), `--visdom-port N|off`/ENGRAM_VISDOM_PORT (Visdom's protocol at the root of that port; default 8097),
 * `--memory-budget-mb N`/ENGRAM_MEMORY_BUDGET_MB (summed memory estimates of engine runs holding a worker; default
 * half the machine's memory) and `--max-training N`/ENGRAM_MAX_TRAINING (engine runs training at once; more wait
 * `queued`; default one per core but one).
 * Flags win over the environment.
 */
export interface CliOptions {
  port: number;
  host: string;
  dataDir: string;
  fresh: boolean;
  next: boolean;
  token: string | undefined;
  checkpointIntervalMs: number | undefined;
  /** A command a run's worker has not answered in this long is answered `timeout` (ENGRAM_COMMAND_TIMEOUT_MS). */
  commandTimeoutMs: number | undefined;
  /** Stop terminates a run's worker that has not stopped in this long (ENGRAM_STOP_GRACE_MS). */
  stopGraceMs: number | undefined;
  /** Per-run frame budget: ENGRAM_MAX_FRAMES frames and ENGRAM_MAX_FRAME_MB megabytes. */
  maxFrames: number | undefined;
  maxFrameMb: number | undefined;
  /** Port that also serves the Visdom protocol at its root (Visdom's 8097 by default); null: only `/visdom`. */
  visdomPort: number | null;
  /** Largest single frame (ENGRAM_FRAME_LIMIT_MB); a bigger one is neither stored nor streamed. */
  frameLimitMb: number | undefined;
  /** Global storage budget in megabytes (ENGRAM_STORAGE_BUDGET_MB); past it frames are thinned, oldest run first. */
  storageBudgetMb: number | undefined;
  /** Memory budget of engine runs holding a worker, in megabytes; undefined: the server's default. */
  memoryBudgetMb: number | undefined;
  /** Engine runs training at once; undefined: the server's default. */
  maxTraining: number | undefined;
}

export class CliError extends Error {}

export function parseCliOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): CliOptions {
  /** An optional positive-integer variable: undefined when unset. */
  const optionalCount = (name: string): number | undefined => {
    const raw = env[name];
    return raw === undefined ? undefined : parseCount(raw, name);
  };
  const options: CliOptions = {
    port: env.PORT === undefined ? 3000 : parsePort(env.PORT, 'PORT'),
    host: env.HOST ?? '127.0.0.1',
    dataDir: env.ENGRAM_DATA_DIR ?? 'data',
    fresh: false,
    next: true,
    token: env.ENGRAM_TOKEN === '' ? undefined : env.ENGRAM_TOKEN,
    checkpointIntervalMs: optionalCount('ENGRAM_CHECKPOINT_MS'),
    commandTimeoutMs: optionalCount('ENGRAM_COMMAND_TIMEOUT_MS'),
    stopGraceMs: optionalCount('ENGRAM_STOP_GRACE_MS'),
    maxFrames: optionalCount('ENGRAM_MAX_FRAMES'),
    maxFrameMb: optionalCount('ENGRAM_MAX_FRAME_MB'),
    visdomPort:
      env.ENGRAM_VISDOM_PORT === undefined
        ? DEFAULT_VISDOM_PORT
        : parseVisdomPort(env.ENGRAM_VISDOM_PORT, 'ENGRAM_VISDOM_PORT'),
    frameLimitMb: optionalCount('ENGRAM_FRAME_LIMIT_MB'),
    storageBudgetMb: optionalCount('ENGRAM_STORAGE_BUDGET_MB'),
    memoryBudgetMb: optionalCount('ENGRAM_MEMORY_BUDGET_MB'),
    maxTraining: optionalCount('ENGRAM_MAX_TRAINING'),
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new CliError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--port':
        options.port = parsePort(value(), '--port');
        break;
      case '--host':
        options.host = value();
        break;
      case '--data-dir':
        options.dataDir = value();
        break;
      case '--fresh':
        options.fresh = true;
        break;
      case '--no-next':
        options.next = false;
        break;
      case '--visdom-port':
        options.visdomPort = parseVisdomPort(value(), '--visdom-port');
        break;
      case '--storage-budget-mb':
        options.storageBudgetMb = parseCount(value(), '--storage-budget-mb');
        break;
      case '--memory-budget-mb':
        options.memoryBudgetMb = parseCount(value(), '--memory-budget-mb');
        break;
      case '--max-training':
        options.maxTraining = parseCount(value(), '--max-training');
        break;
      default:
        throw new CliError(
          `unknown option ${arg} (known: --port N, --host H, --data-dir DIR, --fresh, --no-next, ` +
            '--visdom-port N|off, --storage-budget-mb N, --memory-budget-mb N, --max-training N)',
        );
    }
  }
  return options;
}

/** Visdom's own default port, so `Visdom()` with no arguments reaches Engram. */
export const DEFAULT_VISDOM_PORT = 8097;

function parseVisdomPort(raw: string, name: string): number | null {
  return raw === 'off' ? null : parsePort(raw, name);
}

function parsePort(raw: string, name: string): number {
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new CliError(`${name} must be a port number in [0, 65535], got ${JSON.stringify(raw)}`);
  return port;
}

function parseCount(raw: string, name: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new CliError(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}
