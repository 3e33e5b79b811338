/**
 * A run as the run manager holds it in memory: its stored row, its source, what it has pending for storage, its
 * storage failure, and what the dashboard was last told. Also the new run's row and the summary sent for it.
 */
import { randomUUID } from 'node:crypto';
import { estimateRunMemory, type MemoryEstimate } from './admission';
import type { RunConfig, RunSummary } from './protocol';
import type { WireFrame } from './protocol/frames';
import { PendingWrites } from './run-persistence';
import type { RunSource } from './run-source';
import type { StoredRun } from './storage-runs';

export interface LiveRun {
  run: StoredRun;
  source: RunSource | null;
  pending: PendingWrites;
  /** Set while this run's commits fail; cleared by the first one that succeeds. */
  storageFailure: StorageFailure | null;
  summaryDirty: boolean;
  framesDirty: boolean;
  latestFrame: WireFrame | null;
  lastBroadcast: number;
  /** External runs: the last point seen, for the iterations-per-second estimate. */
  lastPoint: { iteration: number; t: number; itPerSec: number } | null;
  /** Frames dropped for exceeding the single-frame limit, and the largest of them in bytes. */
  oversizeFrames: number;
  largestOversizeFrame: number;
  /** Engine runs: the estimated peak memory of its worker (admission.ts); null for external runs. */
  estimate: MemoryEstimate | null;
}

export interface StorageFailure {
  retryDelayMs: number;
  nextRetryAt: number;
  /** The failure paused a running run and nobody has commanded it since: resume it once storage recovers. */
  resumeOnRecovery: boolean;
}

/** A stored run as it is held live: no source yet, nothing pending. */
export function liveRun(run: StoredRun): LiveRun {
  return {
    run,
    source: null,
    pending: new PendingWrites(run.id),
    storageFailure: null,
    summaryDirty: false,
    framesDirty: false,
    oversizeFrames: 0,
    largestOversizeFrame: 0,
    latestFrame: null,
    lastBroadcast: 0,
    lastPoint: null,
    estimate: run.source === 'engine' ? estimateRunMemory(run.config) : null,
  };
}

export function newRunId(): string {
  return randomUUID().replace(/-/g, '').slice(0, 12);
}

/** A new run's row: running at iteration 0, nothing measured yet. */
export function newRun(id: string, fields: Pick<StoredRun, 'name' | 'config' | 'source'>): StoredRun {
  const now = Date.now();
  return {
    id,
    state: 'running',
    iteration: 0,
    createdAt: now,
    updatedAt: now,
    loss: null,
    metric: null,
    metricName: '',
    itPerSec: null,
    failure: null,
    client: null,
    ...fields,
  };
}

export function summary(run: StoredRun): RunSummary {
  return {
    ...run,
    config: { ...run.config },
    failure: run.failure === null ? null : { ...run.failure },
    client: run.client === null ? null : { ...run.client, controls: [...run.client.controls] },
  };
}

/**
 * An external run's config is the client's free-form JSON. It is typed as a RunConfig so the run has one shape
 * everywhere; the engine fields it lacks are absent (readers guard them by `source`), and `task` says `external`
 * unless the client named one.
 */
export function externalConfig(input: Record<string, unknown>): RunConfig {
  const task = typeof input.task === 'string' ? input.task : 'external';
  return { ...input, task } as RunConfig;
}
