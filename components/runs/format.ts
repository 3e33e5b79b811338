/** Small display formatters shared by the runs table and the run header. */
import type { EngineInfo, RunSummary, StorageUsage } from '../../server/protocol';

export function formatLoss(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 100 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(4);
}

export function modelLabel(run: RunSummary): string {
  if (run.source === 'external') return 'external client';
  const c = run.config;
  return `${c.memory_type ?? '?'} N${c.mem_slot} W${c.mem_size} R${c.read_heads} · ${c.rnn_type ?? ''}${c.nhid ?? ''}`;
}

/** The run's backend for the header, e.g. `webgpu · nvidia hopper` or `webgpu · mesa software (software)`. */
export function engineLabel(engine: EngineInfo): string {
  const adapter = engine.adapter;
  if (adapter === undefined) return engine.backend;
  const name = [adapter.vendor, adapter.architecture].filter((part) => part !== '').join(' ') || 'unknown adapter';
  return `${engine.backend} · ${name}${adapter.software ? ' (software)' : ''}`;
}

/** The adapter's description and limits, one per line (the header's tooltip). */
export function engineDetails(engine: EngineInfo): string {
  const adapter = engine.adapter;
  if (adapter === undefined) return `tfjs backend ${engine.backend}`;
  const limits = Object.entries(adapter.limits).map(([name, value]) => `${name} ${value}`);
  return [adapter.description, ...limits].filter((line) => line !== '').join('\n');
}

export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** What a state badge says on hover (only where the state alone does not explain itself). */
export function stateTitle(state: RunSummary['state']): string | undefined {
  return state === 'queued'
    ? 'waiting for a training slot or memory budget (--max-training, --memory-budget-mb); starts in turn'
    : undefined;
}

/** Which lifecycle buttons make sense in a state. */
export function runActions(state: RunSummary['state']): {
  pause: boolean;
  resume: boolean;
  stop: boolean;
  delete: boolean;
} {
  return {
    // A queued run waits for a training slot or memory: pausing takes it out of the queue, stopping ends it.
    pause: state === 'running' || state === 'queued',
    resume: state === 'paused' || state === 'stopped' || state === 'interrupted',
    stop: state === 'running' || state === 'paused' || state === 'queued',
    // The server refuses to delete a training run: pause or stop it first.
    delete: state !== 'running',
  };
}

/** Bytes for people: `0 B`, `512 B`, `12.3 KB`, `4.5 MB`, `2.0 GB` (powers of 1024). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '∞';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** The runs list's "disk used" figure and its tooltip (each run's share), from `GET /api/storage`. */
export function diskUsageLabel(
  usage: StorageUsage,
  names: Readonly<Record<string, string>>,
): { text: string; title: string; over: boolean } {
  const budget = usage.budgetBytes;
  const text = `disk ${formatBytes(usage.usedBytes)}${budget === null ? '' : ` of ${formatBytes(budget)}`}`;
  const lines = usage.perRun.map(
    (r) =>
      `${names[r.runId] || r.runId}: ${r.frames} frames (${formatBytes(r.frameBytes)}), ${r.metricPoints} points, ` +
      `checkpoint ${formatBytes(r.checkpointBytes)}`,
  );
  const head = `${formatBytes(usage.fileBytes)} on disk; past the budget the oldest runs' frames are thinned first`;
  return { text, title: [head, ...lines].join('\n'), over: usage.overBudget };
}
