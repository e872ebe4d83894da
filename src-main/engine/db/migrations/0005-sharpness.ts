/** Schema 5: the sharpness the keep rule compares (core/sharpness.ts), null until measured. */
import type Database from 'better-sqlite3';

export function migration0005(db: Database.Database): void {
  db.exec(`ALTER TABLE photos ADD COLUMN sharpness REAL;`);
}
