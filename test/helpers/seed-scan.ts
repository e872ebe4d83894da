/**
 * Writes into a database what a finished `doppel scan` leaves there (a completed scans row naming
 * its roots, and photo rows), without decoding or embedding anything: lets server tests start
 * from a library scanned with the CLI.
 */
import fs from 'node:fs';
import type { Db } from '../../src-main/engine/db/database';
import { PhotoRepository } from '../../src-main/engine/db/photo.repository';

/** Records a scan of `roots` with `status`, as the scanner does; returns its id. */
export function seedScan(
  db: Db,
  roots: string[],
  status: 'running' | 'completed' | 'failed' | 'cancelled' = 'completed',
): number {
  return Number(
    db
      .prepare(
        `INSERT INTO scans (started_at, finished_at, roots, provider, status)
         VALUES (?, ?, ?, 'cpu', ?)`,
      )
      .run(new Date().toISOString(), new Date().toISOString(), JSON.stringify(roots), status)
      .lastInsertRowid,
  );
}

/** Records `file` (which must exist) as a photo with `status`, as the scanner would. */
export function seedPhoto(
  db: Db,
  file: string,
  scanId: number,
  status: 'ok' | 'problem' | 'ignored' | 'missing' = 'ok',
): number {
  const repo = new PhotoRepository(db);
  const stat = fs.statSync(file);
  const id = repo.upsertPending(
    undefined,
    { path: file, pathBytes: Buffer.from(file), size: stat.size, mtimeMs: stat.mtimeMs },
    scanId,
  );
  if (status === 'ok') {
    repo.setOk(id, `hash-${id}`, {
      format: 'jpeg',
      width: 1,
      height: 1,
      takenAt: null,
      camera: null,
      orientation: null,
      burstId: null,
      contentId: null,
      exifFields: 0,
    });
  } else if (status === 'problem') {
    repo.setProblem(id, 'TRUNCATED', 'cut short');
  } else if (status === 'ignored') {
    repo.setIgnored(id);
  } else {
    db.prepare(`UPDATE photos SET status = 'missing' WHERE id = ?`).run(id);
  }
  return id;
}
