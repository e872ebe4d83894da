/**
 * Every read and write of the photos, features, embeddings and groups tables. Statements are
 * prepared once per database and always take bound parameters.
 */
import path from 'node:path';
import type { Db } from './database';
import type { GroupKind } from '../../contract/types';
import type { ProblemCode } from '../../contract/errors';

/** A photos row as the scanner and the CLI see it. */
export interface PhotoRow {
  id: number;
  path: string;
  path_bytes: Buffer;
  size: number;
  mtime_ms: number;
  content_hash: string | null;
  format: string | null;
  width: number | null;
  height: number | null;
  taken_at: string | null;
  camera: string | null;
  orientation: number | null;
  burst_id: string | null;
  content_id: string | null;
  exif_fields: number;
  sharpness: number | null;
  /** `ignored`: not an image and not named like one (a video, a PDF...): skipped quietly. */
  status: 'pending' | 'ok' | 'problem' | 'ignored' | 'missing';
  problem_code: ProblemCode | null;
  problem_detail: string | null;
  last_scan_id: number | null;
}

/** Metadata the decoder found, stored with a photo. */
export interface PhotoMetaColumns {
  format: string;
  width: number;
  height: number;
  takenAt: string | null;
  camera: string | null;
  orientation: number | null;
  burstId: string | null;
  contentId: string | null;
  exifFields: number;
  /** core/sharpness.ts on the decoded input; null or absent when not measured. */
  sharpness?: number | null;
}

export interface StoredGroup {
  kind: GroupKind;
  label: string | null;
  members: { photoId: number; distance: number }[];
}

/** Bound, prepared statements over one database. Create once per open database. */
export class PhotoRepository {
  private readonly stmts;

  constructor(readonly db: Db) {
    this.stmts = {
      byPath: db.prepare<[string], PhotoRow>('SELECT * FROM photos WHERE path = ?'),
      byId: db.prepare<[number], PhotoRow>('SELECT * FROM photos WHERE id = ?'),
      insert: db.prepare(
        `INSERT INTO photos (path, path_bytes, size, mtime_ms, status, last_scan_id)
         VALUES (@path, @pathBytes, @size, @mtimeMs, 'pending', @scanId)`,
      ),
      markPending: db.prepare(
        `UPDATE photos SET path_bytes = @pathBytes, size = @size, mtime_ms = @mtimeMs,
           status = 'pending', problem_code = NULL, problem_detail = NULL, last_scan_id = @scanId
         WHERE id = @id`,
      ),
      setOk: db.prepare(
        `UPDATE photos SET content_hash = @hash, format = @format, width = @width, height = @height,
           taken_at = @takenAt, camera = @camera, orientation = @orientation, burst_id = @burstId,
           content_id = @contentId, exif_fields = @exifFields, sharpness = @sharpness,
           status = 'ok',
           problem_code = NULL, problem_detail = NULL
         WHERE id = @id`,
      ),
      setProblem: db.prepare(
        `UPDATE photos SET content_hash = @hash, format = @format, status = 'problem',
           problem_code = @code, problem_detail = @detail
         WHERE id = @id`,
      ),
      setIgnored: db.prepare(
        `UPDATE photos SET status = 'ignored', problem_code = NULL, problem_detail = NULL WHERE id = ?`,
      ),
      upsertProblemPath: db.prepare(
        `INSERT INTO photos (path, path_bytes, size, mtime_ms, status, problem_code, problem_detail, last_scan_id)
         VALUES (@path, @pathBytes, 0, 0, 'problem', @code, @detail, @scanId)
         ON CONFLICT (path) DO UPDATE SET status = 'problem', problem_code = @code,
           problem_detail = @detail, last_scan_id = @scanId
         RETURNING id`,
      ),
      okByHash: db.prepare<[string], PhotoRow>(
        `SELECT * FROM photos WHERE content_hash = ? AND status = 'ok' LIMIT 1`,
      ),
      hasFeature: db.prepare<[string, string, string], { one: number }>(
        'SELECT 1 AS one FROM features WHERE content_hash = ? AND network_version = ? AND view = ?',
      ),
      putFeature: db.prepare(
        `INSERT OR REPLACE INTO features (content_hash, network_version, view, data)
         VALUES (?, ?, ?, ?)`,
      ),
      putEmbedding: db.prepare(
        `INSERT OR REPLACE INTO embeddings (content_hash, head_version, view, data)
         VALUES (?, ?, ?, ?)`,
      ),
      problems: db.prepare<[], PhotoRow>(
        `SELECT * FROM photos WHERE status = 'problem' ORDER BY path`,
      ),
      okPhotos: db.prepare<[], PhotoRow>(`SELECT * FROM photos WHERE status = 'ok' ORDER BY path`),
      setting: db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?'),
      putSetting: db.prepare('INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)'),
    };
  }

  findByPath(path: string): PhotoRow | undefined {
    return this.stmts.byPath.get(path);
  }

  findById(id: number): PhotoRow | undefined {
    return this.stmts.byId.get(id);
  }

  /** Inserts a newly found file as pending, or marks a changed one pending again; returns its id. */
  upsertPending(
    existing: PhotoRow | undefined,
    file: { path: string; pathBytes: Buffer; size: number; mtimeMs: number },
    scanId: number,
  ): number {
    const params = { ...file, scanId };
    if (!existing) return Number(this.stmts.insert.run(params).lastInsertRowid);
    this.stmts.markPending.run({ ...params, id: existing.id });
    return existing.id;
  }

  setOk(id: number, hash: string, meta: PhotoMetaColumns): void {
    this.stmts.setOk.run({ id, hash, ...meta, sharpness: meta.sharpness ?? null });
  }

  setProblem(
    id: number,
    code: ProblemCode,
    detail: string,
    extra: { hash?: string | null; format?: string | null } = {},
  ): void {
    this.stmts.setProblem.run({
      id,
      code,
      detail,
      hash: extra.hash ?? null,
      format: extra.format ?? null,
    });
  }

  /** Marks a file that is neither an image nor named like one; rescans skip it after one stat. */
  setIgnored(id: number): void {
    this.stmts.setIgnored.run(id);
  }

  /** Records a problem found for a path that is not a readable file (a loop, a vanished folder). */
  recordPathProblem(path: string, code: ProblemCode, detail: string, scanId: number): number {
    const row = this.stmts.upsertProblemPath.get({
      path,
      pathBytes: Buffer.from(path),
      code,
      detail,
      scanId,
    }) as { id: number };
    return row.id;
  }

  /** A readable photo with this content, whose metadata a byte-identical file can share. */
  findOkByHash(hash: string): PhotoRow | undefined {
    return this.stmts.okByHash.get(hash);
  }

  hasFeatures(hash: string, networkVersion: string, views: readonly string[]): boolean {
    return views.every((v) => this.stmts.hasFeature.get(hash, networkVersion, v) !== undefined);
  }

  putFeatures(hash: string, networkVersion: string, view: string, data: Float32Array): void {
    this.stmts.putFeature.run(hash, networkVersion, view, toBlob(data));
  }

  putEmbedding(hash: string, headVersion: string, view: string, data: Float32Array): void {
    this.stmts.putEmbedding.run(hash, headVersion, view, toBlob(data));
  }

  listProblems(): PhotoRow[] {
    return this.stmts.problems.all();
  }

  listOkPhotos(): PhotoRow[] {
    return this.stmts.okPhotos.all();
  }

  /** Marks every photo under `roots` not seen by scan `scanId` as missing; returns how many. */
  markUnseenMissing(roots: string[], seenIds: Set<number>): number {
    const rows = this.db
      .prepare<[], { id: number; path: string }>(
        `SELECT id, path FROM photos WHERE status != 'missing'`,
      )
      .all();
    const update = this.db.prepare(`UPDATE photos SET status = 'missing' WHERE id = ?`);
    let count = 0;
    const run = this.db.transaction(() => {
      for (const row of rows) {
        if (seenIds.has(row.id)) continue;
        if (!roots.some((root) => isInside(row.path, root))) continue;
        update.run(row.id);
        count += 1;
      }
    });
    run();
    return count;
  }

  /** Content hashes of readable photos lacking features of `networkVersion` for some view. */
  hashesMissingFeatures(networkVersion: string, views: readonly string[]): string[] {
    const rows = this.db
      .prepare<[string, number], { content_hash: string }>(
        `SELECT DISTINCT p.content_hash FROM photos p
         WHERE p.status = 'ok' AND p.content_hash IS NOT NULL
           AND (SELECT COUNT(*) FROM features f WHERE f.content_hash = p.content_hash
                AND f.network_version = ?) < ?`,
      )
      .all(networkVersion, views.length);
    return rows.map((r) => r.content_hash);
  }

  /** Hashes of readable photos with features but no embedding for `headVersion`. */
  hashesMissingEmbeddings(networkVersion: string, headVersion: string): string[] {
    return this.db
      .prepare<[string, string], { content_hash: string }>(
        `SELECT DISTINCT p.content_hash FROM photos p
         JOIN features f ON f.content_hash = p.content_hash AND f.network_version = ?
         WHERE p.status = 'ok'
           AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.content_hash = p.content_hash
                           AND e.head_version = ? AND e.view = f.view)`,
      )
      .all(networkVersion, headVersion)
      .map((r) => r.content_hash);
  }

  /** Features of one content for every stored view of `networkVersion`. */
  featuresOf(hash: string, networkVersion: string): { view: string; data: Float32Array }[] {
    return this.db
      .prepare<[string, string], { view: string; data: Buffer }>(
        'SELECT view, data FROM features WHERE content_hash = ? AND network_version = ?',
      )
      .all(hash, networkVersion)
      .map((r) => ({ view: r.view, data: fromBlob(r.data) }));
  }

  /** All embeddings of `headVersion`, keyed by content hash then view. */
  allEmbeddings(headVersion: string): Map<string, Map<string, Float32Array>> {
    const out = new Map<string, Map<string, Float32Array>>();
    const rows = this.db
      .prepare<[string], { content_hash: string; view: string; data: Buffer }>(
        'SELECT content_hash, view, data FROM embeddings WHERE head_version = ?',
      )
      .iterate(headVersion);
    for (const row of rows) {
      let views = out.get(row.content_hash);
      if (!views) out.set(row.content_hash, (views = new Map()));
      views.set(row.view, fromBlob(row.data));
    }
    return out;
  }

  /** Replaces all stored groups with `groups` in one transaction. */
  replaceGroups(groups: StoredGroup[]): void {
    const insertGroup = this.db.prepare('INSERT INTO groups (kind, label) VALUES (?, ?)');
    const insertMember = this.db.prepare(
      'INSERT INTO group_members (group_id, photo_id, position, distance) VALUES (?, ?, ?, ?)',
    );
    this.db.transaction(() => {
      this.db.exec('DELETE FROM group_members; DELETE FROM groups;');
      for (const group of groups) {
        const id = Number(insertGroup.run(group.kind, group.label).lastInsertRowid);
        group.members.forEach((m, position) =>
          insertMember.run(id, m.photoId, position, m.distance),
        );
      }
    })();
  }

  /** Stored groups with their members in order, optionally of one kind (one query for all). */
  listGroups(kind?: GroupKind): {
    id: number;
    kind: GroupKind;
    label: string | null;
    members: { photo: PhotoRow; distance: number }[];
  }[] {
    const rows = this.db
      .prepare<
        [],
        PhotoRow & {
          group_id: number;
          group_kind: GroupKind;
          group_label: string | null;
          distance: number;
        }
      >(
        `SELECT p.*, g.id AS group_id, g.kind AS group_kind, g.label AS group_label, m.distance
         FROM groups g
         JOIN group_members m ON m.group_id = g.id
         JOIN photos p ON p.id = m.photo_id
         ORDER BY g.id, m.position`,
      )
      .all();
    const out: ReturnType<PhotoRepository['listGroups']> = [];
    for (const row of rows) {
      if (kind && row.group_kind !== kind) continue;
      let group = out[out.length - 1];
      if (!group || group.id !== row.group_id) {
        group = { id: row.group_id, kind: row.group_kind, label: row.group_label, members: [] };
        out.push(group);
      }
      group.members.push({ photo: row, distance: row.distance });
    }
    return out;
  }

  getSetting(key: string): string | undefined {
    return this.stmts.setting.get(key)?.value;
  }

  setSetting(key: string, value: string): void {
    this.stmts.putSetting.run(key, value);
  }

  /** Runs `fn` in one transaction (batched commits keep a killed scan resumable). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}

/** True when `file` is `root` itself or inside it. */
export function isInside(file: string, root: string): boolean {
  const base = root.endsWith('/') || root.endsWith('\\') ? root : root + path.sep;
  return file === root || file.startsWith(base);
}

function toBlob(data: Float32Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** Copies a BLOB into an aligned Float32Array. */
export function fromBlob(blob: Buffer): Float32Array {
  const out = new Float32Array(blob.byteLength / 4);
  new Uint8Array(out.buffer).set(blob);
  return out;
}
