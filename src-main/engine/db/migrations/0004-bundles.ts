/** Schema 4: companion files (sidecars, Live Photo videos, RAW halves) recorded with their photo. */
import type Database from 'better-sqlite3';

export function migration0004(db: Database.Database): void {
  db.exec(`
    CREATE TABLE companions (
      id INTEGER PRIMARY KEY,
      photo_id INTEGER NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
      path TEXT NOT NULL UNIQUE,
      path_bytes BLOB NOT NULL,
      size INTEGER NOT NULL,
      mtime_ms REAL NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN ('xmp', 'aae', 'thm', 'pp3', 'dop', 'live-video', 'raw'))
    ) STRICT;
    CREATE INDEX companions_by_photo_id ON companions (photo_id);
  `);
}
