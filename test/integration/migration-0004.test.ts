/** Migration 4 adds the companions table and keeps every existing row as it was. */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../src-main/engine/db/database';

describe('migration 0004 (companions)', () => {
  it('keeps photos untouched and adds companions that cascade with their photo', () => {
    const db = new Database(':memory:');
    db.pragma('foreign_keys = ON');
    migrate(db, 3);
    db.prepare(
      `INSERT INTO photos (path, path_bytes, size, mtime_ms, status, content_hash)
       VALUES ('/lib/IMG_1.HEIC', x'2f', 10, 1.5, 'ok', 'abc')`,
    ).run();
    const before = db.prepare('SELECT * FROM photos').all();

    migrate(db, 4);

    expect(db.prepare('SELECT * FROM photos').all()).toEqual(before);
    expect(db.pragma('user_version', { simple: true })).toBe(4);
    db.prepare(
      `INSERT INTO companions (photo_id, path, path_bytes, size, mtime_ms, kind)
       VALUES (1, '/lib/IMG_1.MOV', x'2f', 99, 2, 'live-video')`,
    ).run();
    expect(() =>
      db
        .prepare(
          `INSERT INTO companions (photo_id, path, path_bytes, size, mtime_ms, kind)
         VALUES (1, '/lib/IMG_1.txt', x'2f', 1, 2, 'text')`,
        )
        .run(),
    ).toThrow(/CHECK/);
    db.prepare('DELETE FROM photos').run();
    expect(db.prepare('SELECT COUNT(*) AS n FROM companions').get()).toEqual({ n: 0 });
  });
});
