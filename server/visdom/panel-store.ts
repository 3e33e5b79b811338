/**
 * Persistence of Visdom envs and panels in `<dataDir>/visdom.sqlite` (its own file beside the runs' database, so
 * run storage knows nothing of Visdom): which run each env feeds, and each panel as JSON. Panel writes are
 * batched: a panel that changes many times a second (a line appended to on every iteration) is written once per
 * flush, so an append costs what it adds in memory and a bounded write later.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { VisdomPanel } from '../protocol/visdom';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS envs (eid TEXT PRIMARY KEY, run_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS panels (
  eid TEXT NOT NULL, win TEXT NOT NULL, seq INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY (eid, win)
);
`;

export class PanelStore {
  private readonly db: Database.Database;
  private readonly statements;
  /** eid → win → panel to write (null: delete). */
  private readonly dirty = new Map<string, Map<string, VisdomPanel | null>>();
  private seq = 0;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(join(dataDir, 'visdom.sqlite'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    this.statements = {
      envs: this.db.prepare('SELECT eid, run_id FROM envs'),
      putEnv: this.db.prepare('INSERT OR REPLACE INTO envs (eid, run_id) VALUES (?, ?)'),
      deleteEnv: this.db.prepare('DELETE FROM envs WHERE eid = ?'),
      deletePanels: this.db.prepare('DELETE FROM panels WHERE eid = ?'),
      panels: this.db.prepare('SELECT json FROM panels WHERE eid = ? ORDER BY seq'),
      putPanel: this.db.prepare(
        `INSERT INTO panels (eid, win, seq, json) VALUES (?, ?, ?, ?)
         ON CONFLICT (eid, win) DO UPDATE SET json = excluded.json`,
      ),
      deletePanel: this.db.prepare('DELETE FROM panels WHERE eid = ? AND win = ?'),
      maxSeq: this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM panels'),
    };
    this.seq = (this.statements.maxSeq.get() as { seq: number }).seq;
  }

  envs(): { eid: string; runId: string }[] {
    return (this.statements.envs.all() as { eid: string; run_id: string }[]).map((r) => ({
      eid: r.eid,
      runId: r.run_id,
    }));
  }

  panels(eid: string): VisdomPanel[] {
    return (this.statements.panels.all(eid) as { json: string }[]).map((r) => JSON.parse(r.json) as VisdomPanel);
  }

  putEnv(eid: string, runId: string): void {
    this.statements.putEnv.run(eid, runId);
  }

  deleteEnv(eid: string): void {
    this.dirty.delete(eid);
    this.db.transaction(() => {
      this.statements.deleteEnv.run(eid);
      this.statements.deletePanels.run(eid);
    })();
  }

  /** Remember a panel to write at the next flush (the object is read then, so later changes are included). */
  markPanel(eid: string, panel: VisdomPanel): void {
    this.envDirty(eid).set(panel.win, panel);
  }

  markClosed(eid: string, win: string): void {
    this.envDirty(eid).set(win, null);
  }

  flush(): void {
    if (this.dirty.size === 0) return;
    this.db.transaction(() => {
      for (const [eid, panels] of this.dirty) {
        for (const [win, panel] of panels) {
          if (panel === null) this.statements.deletePanel.run(eid, win);
          else this.statements.putPanel.run(eid, win, ++this.seq, JSON.stringify(panel, nonFinite));
        }
      }
    })();
    this.dirty.clear();
  }

  close(): void {
    this.flush();
    this.db.close();
  }

  private envDirty(eid: string): Map<string, VisdomPanel | null> {
    let panels = this.dirty.get(eid);
    if (panels === undefined) {
      panels = new Map();
      this.dirty.set(eid, panels);
    }
    return panels;
  }
}

/** JSON has no NaN: missing points are stored as null and come back as null (plotly draws a gap either way). */
function nonFinite(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value;
}
