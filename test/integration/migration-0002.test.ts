import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrate } from '../../src-main/engine/db/database';

let dir: string;
let db: Database.Database;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'doppel-mig2-'));
  db = new Database(path.join(dir, 'cache.sqlite'));
  db.pragma('foreign_keys = ON');
});
afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function seedSchema1(): void {
  db.prepare(
    `INSERT INTO scans (started_at, finished_at, roots, provider, status) VALUES (?, ?, ?, ?, ?)`,
  ).run(
    '2024-01-01T00:00:00Z',
    '2024-01-01T00:01:00Z',
    JSON.stringify(['/photos']),
    'cpu',
    'completed',
  );
  const photo = db.prepare(
    `INSERT INTO photos (path, path_bytes, size, mtime_ms, content_hash, format, width, height, taken_at,
       camera, orientation, burst_id, content_id, exif_fields, status, problem_code, problem_detail, last_scan_id)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  photo.run(
    '/photos/a.jpg',
    Buffer.from('/photos/a.jpg'),
    1000,
    1.5e12,
    'a'.repeat(64),
    'jpeg',
    4000,
    3000,
    '2020-01-01T00:00:00',
    'Canon',
    1,
    null,
    null,
    12,
    'ok',
    null,
    null,
    1,
  );
  photo.run(
    '/photos/b.png',
    Buffer.from([0x2f, 0xff, 0x62]),
    0,
    0,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    0,
    'problem',
    'EMPTY_FILE',
    'The file is empty (0 bytes).',
    1,
  );
  db.prepare('INSERT INTO features VALUES (?, ?, ?, ?)').run(
    'a'.repeat(64),
    'net-1',
    'identity',
    Buffer.alloc(16, 1),
  );
  db.prepare('INSERT INTO embeddings VALUES (?, ?, ?, ?)').run(
    'a'.repeat(64),
    'head-1',
    'identity',
    Buffer.alloc(8, 2),
  );
  db.prepare(`INSERT INTO groups (kind, label) VALUES ('exact', NULL), ('similar', 'burst')`).run();
  db.prepare('INSERT INTO group_members VALUES (1, 1, 0, 0), (1, 2, 1, 0.25)').run();
  db.prepare(`INSERT INTO settings VALUES ('thresholds', '{"near":0.2}')`).run();
}

/** Every row of every table, and the schema objects, in a stable order. */
function dumpAll(): Record<string, unknown[]> {
  const tables = db
    .prepare<[], { name: string }>(
      `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`,
    )
    .all()
    .map((t) => t.name);
  const out: Record<string, unknown[]> = {};
  // Sorted in JS: features and embeddings are WITHOUT ROWID tables.
  for (const t of tables) {
    const rows = db.prepare(`SELECT * FROM "${t}"`).all();
    out[t] = rows.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  }
  return out;
}

describe('migration 0002 (action journal)', () => {
  it('keeps every schema-1 table and row as it was and adds empty, strict journal tables', () => {
    migrate(db, 1);
    seedSchema1();
    const before = dumpAll();
    const schemaBefore = db
      .prepare(`SELECT type, name, sql FROM sqlite_master ORDER BY name`)
      .all();

    migrate(db, 2);
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    const after = dumpAll();
    expect(Object.keys(after).sort()).toEqual(
      [...Object.keys(before), 'action_entries', 'action_runs'].sort(),
    );
    for (const table of Object.keys(before)) expect(after[table]).toEqual(before[table]);
    expect(after.action_runs).toEqual([]);
    expect(after.action_entries).toEqual([]);
    const schemaAfter = db.prepare(`SELECT type, name, sql FROM sqlite_master ORDER BY name`).all();
    expect(
      schemaAfter.filter((o) => schemaBefore.some((b) => JSON.stringify(b) === JSON.stringify(o))),
    ).toEqual(schemaBefore);

    const indexes = db
      .prepare<[], { name: string }>(
        `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name LIKE 'action_%' ORDER BY name`,
      )
      .all()
      .map((i) => i.name);
    expect(indexes).toEqual([
      'action_entries_by_run_id_step',
      'action_entries_by_source_path',
      'action_entries_by_state',
    ]);
    const strict = db
      .prepare<[], { name: string; strict: number }>(`PRAGMA table_list`)
      .all()
      .filter((t) => t.name.startsWith('action_'));
    expect(strict.map((t) => [t.name, t.strict]).sort()).toEqual([
      ['action_entries', 1],
      ['action_runs', 1],
    ]);
  });

  it('refuses rows the journal cannot hold: unknown states, wrong types, orphan entries', () => {
    migrate(db, 2);
    const run = db
      .prepare(
        `INSERT INTO action_runs (started_at, kind, pid, status) VALUES ('t', 'trash', 1, 'running')`,
      )
      .run();
    const entry = db.prepare(
      `INSERT INTO action_entries (run_id, step, role, kind, source_path, state, created_at, updated_at)
       VALUES (?, ?, 'photo', 'trash', '/a.jpg', ?, 't', 't')`,
    );
    expect(() => entry.run(run.lastInsertRowid, 1, 'done')).not.toThrow();
    expect(() => entry.run(run.lastInsertRowid, 1, 'deleted')).toThrow(/CHECK constraint/);
    expect(() => entry.run(run.lastInsertRowid, 'one', 'done')).toThrow(
      /cannot store TEXT value in INTEGER column/,
    );
    expect(() => entry.run(999, 1, 'done')).toThrow(/FOREIGN KEY/);
    expect(() =>
      db
        .prepare(
          `INSERT INTO action_runs (started_at, kind, pid, status) VALUES ('t', 'delete', 1, 'running')`,
        )
        .run(),
    ).toThrow(/CHECK constraint/);
  });
});
