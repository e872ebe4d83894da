/** Migration 3 (labels, not-duplicate pairs, heads) on a database that already holds schema 2 rows. */
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { migrate } from '../../src-main/engine/db/database';

function dump(db: Database.Database, table: string): unknown[] {
  return db.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all();
}

describe('migration 0003-labels', () => {
  it('adds the learning tables and leaves earlier tables as they were', () => {
    const db = new Database(':memory:');
    migrate(db, 2);
    db.prepare(
      `INSERT INTO photos (path, path_bytes, size, mtime_ms, content_hash, status) VALUES ('/a.jpg', x'2f612e6a7067', 3, 1, 'h1', 'ok')`,
    ).run();
    db.prepare(`INSERT INTO settings (key, value) VALUES ('thresholds', '{}')`).run();
    const before = { photos: dump(db, 'photos'), settings: dump(db, 'settings') };

    migrate(db, 3);

    expect(db.pragma('user_version', { simple: true })).toBe(3);
    expect({ photos: dump(db, 'photos'), settings: dump(db, 'settings') }).toEqual(before);
    const tables = db
      .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
      .pluck()
      .all();
    expect(tables).toEqual(expect.arrayContaining(['labels', 'not_duplicate_pairs', 'heads']));
    db.close();
  });

  it('enforces what a label and a pair may hold', () => {
    const db = new Database(':memory:');
    migrate(db, 3);
    const label = db.prepare(
      `INSERT INTO labels (query_hash, query_path, better_hash, better_path, worse_hash, worse_path, source, weight, created_at)
       VALUES (?, '/q', ?, ?, ?, ?, ?, ?, 'now')`,
    );
    label.run('q', 'b', '/b', 'w', '/w', 'explicit', 1);
    expect(() => label.run('q', 'b', '/b', 'w', '/w', 'explicit', 1)).toThrow(/UNIQUE/);
    label.run('q', 'b', '/b', 'w', '/w', 'split', 0.5);
    label.run('q', null, null, 'w', '/w', 'keep-all', 0.5);
    expect(() => label.run('q', null, null, null, null, 'explicit', 1)).toThrow(/CHECK/);
    expect(() => label.run('q', 'b', '/b', 'w', '/w', 'guess', 1)).toThrow(/CHECK/);
    expect(() => label.run('q', 'b', '/b', 'w', '/w', 'explicit', 0)).toThrow(/CHECK/);
    const pair = db.prepare(
      `INSERT INTO not_duplicate_pairs (hash_a, hash_b, path_a, path_b, source, created_at) VALUES (?, ?, '/a', '/b', 'explicit', 'now')`,
    );
    pair.run('a', 'b');
    expect(() => pair.run('b', 'a')).toThrow(/CHECK/);
    expect(() => pair.run('a', 'b')).toThrow(/UNIQUE|PRIMARY/);
    db.close();
  });
});
