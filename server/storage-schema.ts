/**
 * Opening `engram.sqlite`: its pragmas (page size, WAL, synchronous), its tables, and the migrations that bring a
 * database written by an earlier version to the current columns.
 */
import Database from 'better-sqlite3';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, state TEXT NOT NULL, iteration INTEGER NOT NULL, config TEXT NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, loss REAL, metric REAL, metric_name TEXT NOT NULL,
  it_per_sec REAL, failure TEXT
);
CREATE TABLE IF NOT EXISTS metrics (
  run_id TEXT NOT NULL, iteration INTEGER NOT NULL, loss REAL, metric REAL, it_per_sec REAL, t INTEGER NOT NULL,
  sequence_length INTEGER, PRIMARY KEY (run_id, iteration)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS frames (
  run_id TEXT NOT NULL, iteration INTEGER NOT NULL, bytes INTEGER NOT NULL, pinned INTEGER NOT NULL, data BLOB NOT NULL,
  PRIMARY KEY (run_id, iteration)
);
CREATE TABLE IF NOT EXISTS checkpoints (
  run_id TEXT PRIMARY KEY, iteration INTEGER NOT NULL, created_at INTEGER NOT NULL, data BLOB NOT NULL
);
`;

/**
 * Columns added after the first schema, applied to databases that lack them (so an existing data dir keeps
 * working): a run's source and its external client's declared controls, and named scalars per metric point.
 */
const MIGRATIONS: { table: string; column: string; definition: string }[] = [
  { table: 'runs', column: 'source', definition: "TEXT NOT NULL DEFAULT 'engine'" },
  { table: 'runs', column: 'client', definition: 'TEXT' },
  { table: 'metrics', column: 'scalars', definition: 'TEXT' },
];

/** Columns of earlier schemas that are dropped from databases that still have them: `runs.hooks` held test hooks
 *  (NOT NULL without a default, so inserts without it would fail). */
const DROPPED: { table: string; column: string }[] = [{ table: 'runs', column: 'hooks' }];

function migrate(db: Database.Database): void {
  const has = (table: string, column: string) =>
    (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).some((c) => c.name === column);
  for (const { table, column, definition } of MIGRATIONS)
    if (!has(table, column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
  for (const { table, column } of DROPPED)
    if (has(table, column)) db.exec(`ALTER TABLE ${table} DROP COLUMN ${column}`);
}

/** Open (or create) the database at `path` with its pragmas, tables and migrations applied. */
export function openDatabase(path: string): Database.Database {
  const db = new Database(path);
  // Frames are blobs of tens to hundreds of KB: 16 KB pages write them in fewer pages (a 256 KB frame 0.69 →
  // 0.45 ms). Only a new file takes it; an existing one keeps its page size.
  db.pragma('page_size = 16384');
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode survives a process crash (kill -9); only an OS crash may lose the last transactions.
  db.pragma('synchronous = NORMAL');
  db.exec(SCHEMA);
  migrate(db);
  return db;
}
