/**
 * Opens Doppel's SQLite cache: the one place that sets pragmas and runs migrations.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { AppError } from '../../contract/errors';
import { MIGRATIONS } from './migrations';

export type Db = Database.Database;

/**
 * Opens (creating when needed) the database at `file`, with WAL and foreign keys on, and migrates
 * it to the latest schema. Throws AppError DB_OPEN_FAILED or DB_TOO_NEW.
 */
export function openDatabase(file: string): Db {
  let db: Db;
  try {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    db = new Database(file);
  } catch (err) {
    throw new AppError('DB_OPEN_FAILED', { path: file, detail: (err as Error).message });
  }
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db, MIGRATIONS.length, file);
  return db;
}

/**
 * Applies migrations up to `target` (1-based count), each in its own transaction that also bumps
 * `user_version`. Exported so migration tests can stop at N-1, seed rows, then go on.
 */
export function migrate(db: Db, target: number, file = ':memory:'): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new AppError('DB_TOO_NEW', { path: file, found: current, known: MIGRATIONS.length });
  }
  for (let version = current; version < target; version += 1) {
    const step = db.transaction(() => {
      MIGRATIONS[version](db);
      db.pragma(`user_version = ${version + 1}`);
    });
    step();
  }
}
