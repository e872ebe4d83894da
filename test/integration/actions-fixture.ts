/**
 * A generated photo library for the safe-actions tests: real files in a temp folder, a real
 * SQLite cache holding their photos and groups rows (as a scan would have written them), and a
 * temp HOME / XDG_DATA_HOME so the trash used is never the real user's.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, type Db } from '../../src-main/engine/db/database';
import type { GroupKind } from '../../src-main/contract/types';

export interface Library {
  dir: string;
  root: string;
  dbFile: string;
  db: Db;
  home: string;
  dataHome: string;
  homeTrash: string;
  close(): void;
}

/** Creates the temp library and points HOME and XDG_DATA_HOME inside it until `close()`. */
export function makeLibrary(prefix = 'doppel-actions-'): Library {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const root = path.join(dir, 'photos');
  const home = path.join(dir, 'home');
  const dataHome = path.join(home, '.local', 'share');
  fs.mkdirSync(root, { recursive: true });
  fs.mkdirSync(dataHome, { recursive: true });
  const saved = { HOME: process.env.HOME, XDG_DATA_HOME: process.env.XDG_DATA_HOME };
  process.env.HOME = home;
  process.env.XDG_DATA_HOME = dataHome;
  const dbFile = path.join(dir, 'library.sqlite');
  const db = openDatabase(dbFile);
  db.prepare(`INSERT INTO scans (started_at, roots, status) VALUES (?, ?, 'completed')`).run(
    new Date().toISOString(),
    JSON.stringify([root]),
  );
  return {
    dir,
    root,
    dbFile,
    db,
    home,
    dataHome,
    homeTrash: path.join(dataHome, 'Trash'),
    close() {
      if (db.open) db.close();
      restoreEnv('HOME', saved.HOME);
      restoreEnv('XDG_DATA_HOME', saved.XDG_DATA_HOME);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function restoreEnv(key: string, value: string | undefined): void {
  if (value === undefined) delete process.env[key];
  else process.env[key] = value;
}

/** Bytes that stand in for a photo: a JPEG-like header and deterministic noise. */
export function photoBytes(seed: string, length = 4096): Buffer {
  const out = Buffer.alloc(length);
  let block = Buffer.alloc(0);
  for (let i = 0; i < length; i++) {
    if (i % 32 === 0) block = crypto.createHash('sha256').update(`${seed}:${i}`).digest();
    out[i] = block[i % 32];
  }
  out[0] = 0xff;
  out[1] = 0xd8;
  return out;
}

export function sha256(buf: Buffer): string {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

export interface PhotoMeta {
  width?: number;
  height?: number;
  format?: string;
  exifFields?: number;
  takenAt?: string | null;
  /** Modification time to give the file (ms). */
  mtimeMs?: number;
}

/** Writes a file and inserts its photos row with status ok; returns the row id. */
export function addPhoto(db: Db, file: string, bytes: Buffer, meta: PhotoMeta = {}): number {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
  if (meta.mtimeMs !== undefined)
    fs.utimesSync(file, new Date(meta.mtimeMs), new Date(meta.mtimeMs));
  const stat = fs.statSync(file);
  const info = db
    .prepare(
      `INSERT INTO photos (path, path_bytes, size, mtime_ms, content_hash, format, width, height,
         taken_at, exif_fields, status)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'ok')`,
    )
    .run(
      file,
      Buffer.from(file),
      stat.size,
      stat.mtimeMs,
      sha256(bytes),
      meta.format ?? 'jpeg',
      meta.width ?? 4000,
      meta.height ?? 3000,
      meta.takenAt === undefined ? '2020-05-01T12:00:00' : meta.takenAt,
      meta.exifFields ?? 30,
    );
  return Number(info.lastInsertRowid);
}

/** Inserts a group of `kind` with the photos in order; returns its id. */
export function addGroup(
  db: Db,
  kind: GroupKind,
  photoIds: number[],
  label: string | null = null,
): number {
  const id = Number(
    db.prepare('INSERT INTO groups (kind, label) VALUES (?, ?)').run(kind, label).lastInsertRowid,
  );
  const member = db.prepare(
    'INSERT INTO group_members (group_id, photo_id, position, distance) VALUES (?, ?, ?, ?)',
  );
  photoIds.forEach((pid, position) => member.run(id, pid, position, position === 0 ? 0 : 0.01));
  return id;
}

/** The status column of a photo. */
export function photoStatus(db: Db, id: number): string {
  return (db.prepare('SELECT status FROM photos WHERE id = ?').get(id) as { status: string })
    .status;
}

/** Every file under `dir` (recursively), as paths relative to it, sorted. */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((p) => fs.statSync(path.join(dir, p)).isFile())
    .sort();
}
