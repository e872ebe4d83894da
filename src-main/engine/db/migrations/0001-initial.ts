/** Schema 1: photos, cached features and embeddings, groups, scans and settings. */
import type Database from 'better-sqlite3';

export function migration0001(db: Database.Database): void {
  db.exec(`
    CREATE TABLE photos (
      id INTEGER PRIMARY KEY,
      path TEXT NOT NULL UNIQUE,
      path_bytes BLOB NOT NULL,
      size INTEGER NOT NULL,
      mtime_ms REAL NOT NULL,
      content_hash TEXT,
      format TEXT,
      width INTEGER,
      height INTEGER,
      taken_at TEXT,
      camera TEXT,
      orientation INTEGER,
      burst_id TEXT,
      content_id TEXT,
      exif_fields INTEGER NOT NULL DEFAULT 0,
      status TEXT NOT NULL CHECK (status IN ('pending', 'ok', 'problem', 'ignored', 'missing')),
      problem_code TEXT,
      problem_detail TEXT,
      last_scan_id INTEGER
    ) STRICT;
    CREATE INDEX photos_by_content_hash ON photos (content_hash);
    CREATE INDEX photos_by_status ON photos (status);

    CREATE TABLE features (
      content_hash TEXT NOT NULL,
      network_version TEXT NOT NULL,
      view TEXT NOT NULL,
      data BLOB NOT NULL,
      PRIMARY KEY (content_hash, network_version, view)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE embeddings (
      content_hash TEXT NOT NULL,
      head_version TEXT NOT NULL,
      view TEXT NOT NULL,
      data BLOB NOT NULL,
      PRIMARY KEY (content_hash, head_version, view)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE scans (
      id INTEGER PRIMARY KEY,
      started_at TEXT NOT NULL,
      finished_at TEXT,
      roots TEXT NOT NULL,
      provider TEXT,
      status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'cancelled'))
    ) STRICT;

    CREATE TABLE groups (
      id INTEGER PRIMARY KEY,
      kind TEXT NOT NULL CHECK (kind IN ('exact', 'near-duplicate', 'similar')),
      label TEXT
    ) STRICT;

    CREATE TABLE group_members (
      group_id INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
      photo_id INTEGER NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
      position INTEGER NOT NULL,
      distance REAL NOT NULL,
      PRIMARY KEY (group_id, position)
    ) STRICT;
    CREATE INDEX group_members_by_photo_id ON group_members (photo_id);

    CREATE TABLE settings (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL
    ) STRICT;
  `);
}
