/**
 * Schema 2: the journal of file actions (trash, move) that makes every apply reversible and lets a
 * killed run be reconciled with the disk at the next start.
 */
import type Database from 'better-sqlite3';

export function migration0002(db: Database.Database): void {
  db.exec(`
    -- An apply (kind trash or move) or an undo. pid tells a reconcile whether the run's process
    -- is still alive (then its entries are left alone) or was killed (then they are resolved).
    CREATE TABLE action_runs (
      id INTEGER PRIMARY KEY,
      started_at TEXT NOT NULL,
      finished_at TEXT,
      kind TEXT NOT NULL CHECK (kind IN ('trash', 'move', 'undo')),
      move_to TEXT,
      plan_path TEXT,
      pid INTEGER NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'interrupted'))
    ) STRICT;

    -- One row per file. A photo and its companions share one step, so they travel together.
    -- Every row is written before its file is touched: dest_path, trash_info_path and
    -- partial_path name every place the file can be, so a reconcile after a crash knows where to
    -- look without guessing.
    CREATE TABLE action_entries (
      id INTEGER PRIMARY KEY,
      run_id INTEGER NOT NULL REFERENCES action_runs (id) ON DELETE CASCADE,
      step INTEGER NOT NULL,
      role TEXT NOT NULL CHECK (role IN ('photo', 'companion')),
      photo_id INTEGER,
      group_id INTEGER,
      kind TEXT NOT NULL CHECK (kind IN ('trash', 'move')),
      source_path TEXT NOT NULL,
      dest_path TEXT,
      trash_info_path TEXT,
      partial_path TEXT,
      size INTEGER,
      mtime_ms REAL,
      content_hash TEXT,
      prior_status TEXT,
      undo_run_id INTEGER REFERENCES action_runs (id),
      state TEXT NOT NULL CHECK (state IN
        ('planned', 'moving', 'done', 'failed', 'skipped', 'undoing', 'undone', 'gone')),
      outcome TEXT,
      reason TEXT,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX action_entries_by_run_id_step ON action_entries (run_id, step);
    CREATE INDEX action_entries_by_state ON action_entries (state);
    CREATE INDEX action_entries_by_source_path ON action_entries (source_path);
  `);
}
