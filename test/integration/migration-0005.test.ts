/** Migration 5 adds photos.sharpness (null until a scan measures it) and keeps every row. */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../src-main/engine/db/database';

describe('migration 0005 (sharpness)', () => {
  it('adds a null sharpness to existing photos and keeps the rest as it was', () => {
    const db = new Database(':memory:');
    migrate(db, 4);
    db.prepare(
      `INSERT INTO photos (path, path_bytes, size, mtime_ms, status, content_hash)
       VALUES ('/lib/IMG_1.HEIC', x'2f', 10, 1.5, 'ok', 'abc')`,
    ).run();
    const before = db.prepare('SELECT * FROM photos').get() as Record<string, unknown>;

    migrate(db, 5);

    expect(db.pragma('user_version', { simple: true })).toBe(5);
    expect(db.prepare('SELECT * FROM photos').get()).toEqual({ ...before, sharpness: null });
    db.prepare('UPDATE photos SET sharpness = 12.5').run();
    expect(db.prepare('SELECT sharpness FROM photos').get()).toEqual({ sharpness: 12.5 });
  });
});
