/**
 * The `runs` table: each run's summary row (state, iteration, latest values, config, failure, source and its
 * external client's declared controls), written and read back as a RunSummary.
 */
import type Database from 'better-sqlite3';
import type { ExternalClientInfo, RunConfig, RunFailure, RunSourceKind, RunState, RunSummary } from './protocol';

/** A run as stored: its summary (the engine info is not persisted). */
export type StoredRun = RunSummary;

interface RunRow {
  id: string;
  name: string;
  state: string;
  iteration: number;
  config: string;
  created_at: number;
  updated_at: number;
  loss: number | null;
  metric: number | null;
  metric_name: string;
  it_per_sec: number | null;
  failure: string | null;
  source: string;
  client: string | null;
}

/** The runs table's statements (server/storage.ts delegates a run's row to it). */
export class RunRows {
  private readonly statements;

  constructor(db: Database.Database) {
    this.statements = {
      insertRun: db.prepare(
        `INSERT INTO runs (id, name, state, iteration, config, created_at, updated_at, loss, metric, metric_name,
           it_per_sec, failure, source, client)
         VALUES (@id, @name, @state, @iteration, @config, @created_at, @updated_at, @loss, @metric, @metric_name,
           @it_per_sec, @failure, @source, @client)`,
      ),
      updateRun: db.prepare(
        `UPDATE runs SET state = @state, iteration = @iteration, updated_at = @updated_at, loss = @loss,
         metric = @metric, metric_name = @metric_name, it_per_sec = @it_per_sec, failure = @failure,
         config = @config WHERE id = @id`,
      ),
      updateConfig: db.prepare('UPDATE runs SET config = ? WHERE id = ?'),
      updateClient: db.prepare('UPDATE runs SET client = ? WHERE id = ?'),
      allRuns: db.prepare('SELECT * FROM runs ORDER BY created_at, id'),
    };
  }

  insert(run: StoredRun): void {
    this.statements.insertRun.run(toRow(run));
  }

  update(run: RunSummary): void {
    const row = toRow(run);
    if (run.client !== null) this.updateClient(run.id, run.client);
    this.statements.updateRun.run({
      id: row.id,
      state: row.state,
      iteration: row.iteration,
      updated_at: row.updated_at,
      loss: row.loss,
      metric: row.metric,
      metric_name: row.metric_name,
      it_per_sec: row.it_per_sec,
      failure: row.failure,
      config: row.config,
    });
  }

  updateConfig(runId: string, config: RunConfig): void {
    this.statements.updateConfig.run(JSON.stringify(config), runId);
  }

  /** An external run's declared controls (liveness is not stored: no client is connected after a restart). */
  updateClient(runId: string, client: ExternalClientInfo): void {
    this.statements.updateClient.run(JSON.stringify({ controls: client.controls }), runId);
  }

  all(): StoredRun[] {
    return (this.statements.allRuns.all() as RunRow[]).map(fromRow);
  }
}

function toRow(run: StoredRun): RunRow {
  return {
    id: run.id,
    name: run.name,
    state: run.state,
    iteration: run.iteration,
    config: JSON.stringify(run.config),
    created_at: run.createdAt,
    updated_at: run.updatedAt,
    loss: run.loss,
    metric: run.metric,
    metric_name: run.metricName,
    it_per_sec: run.itPerSec,
    failure: run.failure === null ? null : JSON.stringify(run.failure),
    source: run.source,
    client: run.client === null ? null : JSON.stringify({ controls: run.client.controls }),
  };
}

function fromRow(row: RunRow): StoredRun {
  return {
    id: row.id,
    name: row.name,
    state: row.state as RunState,
    iteration: row.iteration,
    config: JSON.parse(row.config) as RunConfig,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    loss: row.loss,
    metric: row.metric,
    metricName: row.metric_name,
    itPerSec: row.it_per_sec,
    failure: row.failure === null ? null : (JSON.parse(row.failure) as RunFailure),
    source: row.source === 'external' ? 'external' : ('engine' satisfies RunSourceKind),
    client:
      row.client === null
        ? null
        : {
            connected: false,
            lastSeen: null,
            waiting: false,
            controls: (JSON.parse(row.client) as { controls: ExternalClientInfo['controls'] }).controls,
          },
  };
}
