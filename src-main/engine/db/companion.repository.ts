/** Reads and writes the companion files recorded with each photo (see core/bundles.ts). */
import type { Db } from './database';
import type { CompanionKind } from '../../core/bundles';

export interface CompanionRow {
  id: number;
  photo_id: number;
  path: string;
  path_bytes: Buffer;
  size: number;
  mtime_ms: number;
  kind: CompanionKind;
}

export interface CompanionFile {
  path: string;
  pathBytes: Buffer;
  size: number;
  mtimeMs: number;
  kind: CompanionKind;
}

/** Prepared statements over the companions table. */
export class CompanionRepository {
  private readonly deleteForPhoto;
  private readonly insert;
  private readonly all;
  private readonly ofPhoto;

  constructor(private readonly db: Db) {
    this.deleteForPhoto = db.prepare('DELETE FROM companions WHERE photo_id = ?');
    this.insert = db.prepare(
      `INSERT INTO companions (photo_id, path, path_bytes, size, mtime_ms, kind)
       VALUES (@photoId, @path, @pathBytes, @size, @mtimeMs, @kind)
       ON CONFLICT (path) DO UPDATE SET photo_id = @photoId, path_bytes = @pathBytes,
         size = @size, mtime_ms = @mtimeMs, kind = @kind`,
    );
    this.all = db.prepare<[], CompanionRow>('SELECT * FROM companions ORDER BY photo_id, path');
    this.ofPhoto = db.prepare<[number], CompanionRow>(
      'SELECT * FROM companions WHERE photo_id = ? ORDER BY path',
    );
  }

  /** Replaces the companions of `photoId` with `files` (call inside a transaction). */
  replaceFor(photoId: number, files: CompanionFile[]): void {
    this.deleteForPhoto.run(photoId);
    for (const f of files) this.insert.run({ photoId, ...f });
  }

  /** The companions recorded for one photo. */
  forPhoto(photoId: number): CompanionRow[] {
    return this.ofPhoto.all(photoId);
  }

  /** Records one more companion of `photoId` (call inside a transaction). */
  add(photoId: number, file: CompanionFile): void {
    this.insert.run({ photoId, ...file });
  }

  /** Every companion, grouped by photo id. */
  byPhoto(): Map<number, CompanionRow[]> {
    const out = new Map<number, CompanionRow[]>();
    for (const row of this.all.all()) {
      const list = out.get(row.photo_id) ?? [];
      list.push(row);
      out.set(row.photo_id, list);
    }
    return out;
  }
}
