/**
 * The scan: walk the folders, read each new or changed file once (hash and decode from the same
 * buffer), embed it in batches while the next files decode, cache everything in SQLite, then
 * rebuild the groups. An unchanged file costs one stat.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import {
  AppError,
  CancellationError,
  PROBLEM_CATALOG,
  type ProblemCode,
} from '../../contract/errors';
import type { GroupKind, Provider, ScanSummary } from '../../contract/types';
import { toInputTensor } from '../../core/preprocess';
import { sharpnessOf } from '../../core/sharpness';
import { viewOf } from '../../core/views';
import type { ViewName } from '../../core/model-card';
import type { Db } from '../db/database';
import { PhotoRepository, type PhotoMetaColumns } from '../db/photo.repository';
import { decodePhoto, sniffFormat, type PhotoMeta } from '../decode/decode';
import { walk, type WalkEntry } from '../fs/walk';
import { isImageName, planFolder } from '../../core/bundles';
import {
  CompanionRepository,
  type CompanionFile,
  type CompanionRow,
} from '../db/companion.repository';
import { readQuickTimeContentId } from '../decode/quicktime.reader';
import { createLogger } from '../log/logger';
import { reconcileJournal } from '../actions/reconcile.service';
import { createEmbedder, type Embedder, type LoadedModel } from '../ml';
import { rebuildGroups } from './grouping.service';
import { createHeadBackend } from '../ml/head-runner';
import { embedMissingWithHead } from '../learn/head.service';

const log = createLogger('scan');

/** Files decoded at once; sharp decodes on libuv threads, so a few overlap the network. */
const DECODE_CONCURRENCY = 3;
/** Inputs per network call. */
const BATCH_SIZE = 16;
/** Photo rows written per transaction: a killed scan loses at most this much work. */
const COMMIT_EVERY = 64;

export interface ScanProgress {
  phase: 'walking' | 'reading' | 'embedding' | 'grouping' | 'done';
  done: number;
  total: number;
}

export interface ScanOptions {
  exclude?: string[];
  provider?: Provider;
  model: LoadedModel;
  threads?: number;
  onProgress?: (progress: ScanProgress) => void;
  signal?: AbortSignal;
}

type WalkFile = Extract<WalkEntry, { kind: 'file' }>;

interface WorkItem {
  id: number;
  path: string;
  pathBytes: Buffer;
}

interface PendingInput {
  hash: string;
  rgb: Buffer;
}

/**
 * Scans `roots` into the cache behind `db` and regroups the library. Resolves with the summary;
 * unreadable files are recorded as problems and never stop the scan. Throws AppError for a root
 * that does not exist or is not a folder, and CancellationError when `signal` aborts.
 */
export async function scanLibrary(
  db: Db,
  roots: string[],
  opts: ScanOptions,
): Promise<ScanSummary> {
  const started = Date.now();
  // libvips' operation cache only holds memory over a scan of thousands of distinct files.
  sharp.cache(false);
  const absRoots = roots.map((r) => checkRoot(r));
  // A file action killed halfway must be settled before the scan looks at the folders.
  const settled = reconcileJournal(db);
  if (settled.settled) log.info(`settled ${settled.settled} interrupted file actions`);
  const repo = new PhotoRepository(db);
  const scanId = Number(
    db
      .prepare(`INSERT INTO scans (started_at, roots, status) VALUES (?, ?, 'running')`)
      .run(new Date().toISOString(), JSON.stringify(absRoots)).lastInsertRowid,
  );
  const { card } = opts.model;
  const views = card.views as ViewName[];

  const companions = new CompanionRepository(db);
  const { work, seen, photoFiles, unpairedVideos, unchanged, unchangedIgnored } = await collectWork(
    repo,
    companions,
    absRoots,
    scanId,
    opts,
  );
  const embedder = await createEmbedder(opts.model, opts.provider ?? 'auto', {
    threads: opts.threads,
  });
  try {
    // `auto` falling back to the CPU is expected on most machines: the summary names the provider.
    for (const warning of embedder.warnings) {
      if ((opts.provider ?? 'auto') === 'auto') log.info(warning);
      else log.warn(warning);
    }
    const stats = await processWork(repo, work, embedder, views, opts);
    const rehashed = await embedMissingFeatures(repo, embedder, views, opts);
    pairVideosByContentId(repo, companions, unpairedVideos);
    opts.onProgress?.({ phase: 'grouping', done: 0, total: 1 });
    repo.markUnseenMissing(absRoots, seen);
    await refreshEmbeddingsFast(db, opts.model);
    const groups = rebuildGroups(repo, companions, opts.model);
    db.prepare(
      `UPDATE scans SET finished_at = ?, provider = ?, status = 'completed' WHERE id = ?`,
    ).run(new Date().toISOString(), embedder.provider, scanId);
    opts.onProgress?.({ phase: 'done', done: 1, total: 1 });
    const problems = repo.listProblems().filter((p) => absRoots.some((r) => isUnder(p.path, r)));
    const ignored = stats.ignored + unchangedIgnored;
    return {
      photos: photoFiles - ignored,
      embedded: stats.embedded + rehashed,
      reused: stats.reused,
      ignored,
      unchanged: unchanged - unchangedIgnored,
      skipped: problems.length,
      problems: problems.map((p) => ({
        path: p.path,
        code: p.problem_code as ProblemCode,
        reason: p.problem_detail ?? PROBLEM_CATALOG[p.problem_code as ProblemCode],
      })),
      groups: countKinds(groups),
      provider: embedder.provider,
      seconds: (Date.now() - started) / 1000,
    };
  } catch (err) {
    const status = err instanceof CancellationError ? 'cancelled' : 'failed';
    db.prepare('UPDATE scans SET finished_at = ?, status = ? WHERE id = ?').run(
      new Date().toISOString(),
      status,
      scanId,
    );
    throw err;
  } finally {
    await embedder.dispose();
  }
}

function checkRoot(root: string): string {
  const abs = path.resolve(root);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(abs);
  } catch {
    throw new AppError('FOLDER_NOT_FOUND', { path: abs });
  }
  if (!stat.isDirectory()) throw new AppError('NOT_A_FOLDER', { path: abs });
  return abs;
}

function isUnder(file: string, root: string): boolean {
  return file === root || file.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

function countKinds(groups: { kind: GroupKind }[]): Record<GroupKind, number> {
  const counts: Record<GroupKind, number> = { exact: 0, 'near-duplicate': 0, similar: 0 };
  for (const g of groups) counts[g.kind] += 1;
  return counts;
}

/** Walks the roots; returns files needing a read, and the ids of every photo seen. */
async function collectWork(
  repo: PhotoRepository,
  companions: CompanionRepository,
  roots: string[],
  scanId: number,
  opts: ScanOptions,
): Promise<{
  work: WorkItem[];
  seen: Set<number>;
  /** Files planned as photos (seen also holds path problems: symlink loops, orphan sidecars). */
  photoFiles: number;
  /** Videos no photo claimed by name, for pairing by Apple content identifier after decoding. */
  unpairedVideos: WalkFile[];
  unchanged: number;
  unchangedIgnored: number;
}> {
  const folders = new Map<string, WalkFile[]>();
  let problems: { path: string; code: ProblemCode; detail: string }[] = [];
  let count = 0;
  for await (const entry of walk(roots, { exclude: opts.exclude })) {
    throwIfAborted(opts.signal);
    if (entry.kind === 'problem') {
      problems.push(entry);
      continue;
    }
    const dir = path.dirname(entry.path);
    const list = folders.get(dir) ?? [];
    list.push(entry);
    folders.set(dir, list);
    if ((++count & 1023) === 0) opts.onProgress?.({ phase: 'walking', done: count, total: 0 });
  }

  const work: WorkItem[] = [];
  const seen = new Set<number>();
  let unchanged = 0;
  let unchangedIgnored = 0;
  let photoFiles = 0;
  const unpairedVideos: WalkFile[] = [];
  for (const files of folders.values()) {
    const byName = new Map(files.map((f) => [path.basename(f.path), f]));
    const plan = planFolder([...byName.keys()]);
    const lonelyVideos = new Map(plan.skipped.map((name) => [name, byName.get(name)!]));
    repo.transaction(() => {
      for (const name of plan.photos) {
        const entry = byName.get(name)!;
        const existing = repo.findByPath(entry.path);
        const isUnchanged =
          existing !== undefined &&
          existing.size === entry.size &&
          existing.mtime_ms === entry.mtimeMs &&
          (existing.status === 'ok' ||
            existing.status === 'problem' ||
            existing.status === 'ignored');
        let id: number;
        if (isUnchanged) {
          id = existing.id;
          unchanged += 1;
          if (existing.status === 'ignored') unchangedIgnored += 1;
        } else {
          id = repo.upsertPending(existing, entry, scanId);
          work.push({ id, path: entry.path, pathBytes: entry.pathBytes });
        }
        seen.add(id);
        photoFiles += 1;
        const byStem = (plan.companions.get(name) ?? []).map((c) => {
          const f = byName.get(c.name)!;
          return {
            path: f.path,
            pathBytes: f.pathBytes,
            size: f.size,
            mtimeMs: f.mtimeMs,
            kind: c.kind,
          };
        });
        // A video paired by content identifier in an earlier scan stays paired while neither
        // file changed, so a rescan does not read it again.
        const byContentId = isUnchanged
          ? keptContentIdVideos(companions.forPhoto(id), lonelyVideos)
          : [];
        companions.replaceFor(id, [...byStem, ...byContentId]);
      }
      unpairedVideos.push(...lonelyVideos.values());
      for (const orphan of plan.orphans) {
        const f = byName.get(orphan.name)!;
        problems.push({
          path: f.path,
          code: 'ORPHAN_SIDECAR',
          detail: PROBLEM_CATALOG.ORPHAN_SIDECAR,
        });
      }
    });
  }
  repo.transaction(() => {
    for (const p of problems) seen.add(repo.recordPathProblem(p.path, p.code, p.detail, scanId));
  });
  problems = [];
  return { work, seen, photoFiles, unpairedVideos, unchanged, unchangedIgnored };
}

/**
 * The `live-video` companions recorded for a photo that are still lonely videos of its folder
 * with the same size and date; they are taken out of `lonely` (they need no pairing again).
 */
function keptContentIdVideos(
  recorded: CompanionRow[],
  lonely: Map<string, WalkFile>,
): CompanionFile[] {
  const kept: CompanionFile[] = [];
  for (const row of recorded) {
    if (row.kind !== 'live-video') continue;
    const name = path.basename(row.path);
    const f = lonely.get(name);
    if (!f || f.path !== row.path || f.size !== row.size || f.mtimeMs !== row.mtime_ms) continue;
    lonely.delete(name);
    kept.push({
      path: f.path,
      pathBytes: f.pathBytes,
      size: f.size,
      mtimeMs: f.mtimeMs,
      kind: row.kind,
    });
  }
  return kept;
}

/**
 * Live Photos renamed apart: a video no photo of its folder claims by name is read for its Apple
 * content identifier (headers and the moov atom only) and becomes the `live-video` companion of
 * the photo in the same folder whose maker note carries the same identifier. A video that matches
 * nothing stays what it was: not a photo, skipped.
 */
function pairVideosByContentId(
  repo: PhotoRepository,
  companions: CompanionRepository,
  videos: WalkFile[],
): void {
  if (videos.length === 0) return;
  const byContentId = repo.db.prepare<[string], { id: number; path: string }>(
    `SELECT id, path FROM photos WHERE content_id = ? AND status = 'ok' ORDER BY path`,
  );
  const claimed = new Set<number>(
    repo.db
      .prepare<[], { photo_id: number }>(
        `SELECT photo_id FROM companions WHERE kind = 'live-video'`,
      )
      .all()
      .map((r) => r.photo_id),
  );
  repo.transaction(() => {
    for (const video of videos) {
      const id = readQuickTimeContentId(video.pathBytes);
      if (!id) continue;
      const owner = byContentId
        .all(id)
        .find((p) => path.dirname(p.path) === path.dirname(video.path) && !claimed.has(p.id));
      if (!owner) continue;
      claimed.add(owner.id);
      companions.add(owner.id, {
        path: video.path,
        pathBytes: video.pathBytes,
        size: video.size,
        mtimeMs: video.mtimeMs,
        kind: 'live-video',
      });
    }
  });
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancellationError();
}

/** Bytes read first to tell an image from anything else, before reading a whole video. */
const SNIFF_BYTES = 64 * 1024;

type ReadOutcome =
  | { kind: 'file'; buf: Buffer }
  | { kind: 'ignored' }
  | { kind: 'problem'; code: ProblemCode; detail: string };

/**
 * Reads a file once: its first bytes decide whether it is an image at all (a video or a document
 * beside the photos is skipped without reading it whole); an image is then read to the end into
 * the same buffer, which both the hash and the decoder use.
 */
async function readPhotoFile(item: WorkItem): Promise<ReadOutcome> {
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(item.pathBytes, 'r');
    const { size } = await handle.stat();
    if (size === 0)
      return { kind: 'problem', code: 'EMPTY_FILE', detail: PROBLEM_CATALOG.EMPTY_FILE };
    const buf = Buffer.allocUnsafe(size);
    let filled = (await handle.read(buf, 0, Math.min(size, SNIFF_BYTES), 0)).bytesRead;
    if (!looksLikeImage(buf.subarray(0, filled))) {
      if (!isImageName(path.basename(item.path))) return { kind: 'ignored' };
      return { kind: 'problem', code: 'UNKNOWN_FORMAT', detail: PROBLEM_CATALOG.UNKNOWN_FORMAT };
    }
    while (filled < size) {
      const { bytesRead } = await handle.read(buf, filled, size - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return { kind: 'file', buf: buf.subarray(0, filled) };
  } catch (err) {
    return { kind: 'problem', ...readProblem(err as NodeJS.ErrnoException) };
  } finally {
    await handle?.close();
  }
}

/** True when the first bytes are those of an image container Doppel may decode. */
function looksLikeImage(head: Buffer): boolean {
  if (sniffFormat(head) !== null) return true;
  // A TIFF-structured file whose IFDs lie beyond the first bytes still starts with its byte order.
  const magic = head.toString('latin1', 0, 4);
  return magic === 'II*\0' || magic === 'MM\0*';
}

/** Maps a failed read to the problem a person understands. */
function readProblem(err: NodeJS.ErrnoException): { code: ProblemCode; detail: string } {
  switch (err.code) {
    case 'ENOENT':
      return { code: 'VANISHED', detail: PROBLEM_CATALOG.VANISHED };
    case 'EACCES':
    case 'EPERM':
      return { code: 'UNREADABLE', detail: PROBLEM_CATALOG.UNREADABLE };
    default:
      return {
        code: 'IO_ERROR',
        detail: `${PROBLEM_CATALOG.IO_ERROR} (${err.code ?? err.message})`,
      };
  }
}

function metaColumns(meta: PhotoMeta, sharpness: number): PhotoMetaColumns {
  return {
    format: meta.format,
    width: meta.width,
    height: meta.height,
    takenAt: meta.takenAt,
    camera: meta.camera,
    orientation: meta.orientation,
    burstId: meta.burstId,
    contentId: meta.contentId,
    exifFields: meta.exifFieldCount,
    sharpness,
  };
}

/**
 * Reads, hashes, decodes and embeds every work item. Decoding runs DECODE_CONCURRENCY files at a
 * time while full batches go to the network, so neither waits on one file at a time.
 */
async function processWork(
  repo: PhotoRepository,
  work: WorkItem[],
  embedder: Embedder,
  views: ViewName[],
  opts: ScanOptions,
): Promise<{ embedded: number; reused: number; ignored: number }> {
  const { card } = opts.model;
  const size = card.input.size;
  const pending: PendingInput[] = [];
  const inFlightHashes = new Set<string>();
  const writes: (() => void)[] = [];
  let embedded = 0;
  let reused = 0;
  let ignored = 0;
  let done = 0;
  let embedChain: Promise<void> = Promise.resolve();

  const flushWrites = (): void => {
    const batch = writes.splice(0, writes.length);
    if (batch.length) repo.transaction(() => batch.forEach((w) => w()));
  };
  const runBatch = (inputs: PendingInput[]): void => {
    embedChain = embedChain.then(async () => {
      await embedInputs(repo, embedder, opts.model, views, inputs);
      inputs.forEach((p) => inFlightHashes.delete(p.hash));
      embedded += inputs.length;
      opts.onProgress?.({ phase: 'embedding', done: embedded, total: work.length });
    });
  };

  const handle = async (item: WorkItem): Promise<void> => {
    const read = await readPhotoFile(item);
    if (read.kind === 'problem') {
      writes.push(() => repo.setProblem(item.id, read.code, read.detail));
      return;
    }
    if (read.kind === 'ignored') {
      ignored += 1;
      writes.push(() => repo.setIgnored(item.id));
      return;
    }
    const buf = read.buf;
    const hash = crypto.createHash('sha256').update(buf).digest('hex');
    const twin = repo.findOkByHash(hash);
    const known = repo.hasFeatures(hash, card.networkVersion, views) || inFlightHashes.has(hash);
    if (twin && known) {
      reused += 1;
      writes.push(() =>
        repo.setOk(item.id, hash, {
          format: twin.format ?? 'jpeg',
          width: twin.width ?? 0,
          height: twin.height ?? 0,
          takenAt: twin.taken_at,
          camera: twin.camera,
          orientation: twin.orientation,
          burstId: twin.burst_id,
          contentId: twin.content_id,
          exifFields: twin.exif_fields,
          sharpness: twin.sharpness,
        }),
      );
      return;
    }
    const result = await decodePhoto(buf, { size, trimBorders: card.input.trimBorders });
    if (!result.ok) {
      writes.push(() =>
        repo.setProblem(item.id, result.code, result.detail, { hash, format: result.format }),
      );
      return;
    }
    const sharpness = sharpnessOf(result.rgb, size);
    writes.push(() => repo.setOk(item.id, hash, metaColumns(result.meta, sharpness)));
    if (known) {
      reused += 1;
      return;
    }
    inFlightHashes.add(hash);
    pending.push({ hash, rgb: result.rgb });
    if (pending.length >= BATCH_SIZE) runBatch(pending.splice(0, pending.length));
  };

  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < work.length) {
      throwIfAborted(opts.signal);
      const item = work[next++];
      await handle(item);
      done += 1;
      if (writes.length >= COMMIT_EVERY) flushWrites();
      opts.onProgress?.({ phase: 'reading', done, total: work.length });
      // Keep decoded pixels bounded: wait for the network when it falls two batches behind.
      if (pending.length === 0 && embedded + 2 * BATCH_SIZE < done - reused) await embedChain;
    }
  };
  try {
    await Promise.all(Array.from({ length: DECODE_CONCURRENCY }, worker));
    if (pending.length) runBatch(pending.splice(0, pending.length));
    await embedChain;
  } finally {
    flushWrites();
  }
  return { embedded, reused, ignored };
}

/**
 * Embeds readable photos whose features are missing for the current network (a new model, or a
 * scan killed after its rows were written but before its batch ran). Decodes them again.
 */
async function embedMissingFeatures(
  repo: PhotoRepository,
  embedder: Embedder,
  views: ViewName[],
  opts: ScanOptions,
): Promise<number> {
  const { card } = opts.model;
  const hashes = repo.hashesMissingFeatures(card.networkVersion, views);
  let count = 0;
  for (let start = 0; start < hashes.length; start += BATCH_SIZE) {
    throwIfAborted(opts.signal);
    const inputs: PendingInput[] = [];
    for (const hash of hashes.slice(start, start + BATCH_SIZE)) {
      const row = repo.findOkByHash(hash);
      if (!row) continue;
      try {
        const buf = await fs.promises.readFile(row.path_bytes);
        const result = await decodePhoto(buf, {
          size: card.input.size,
          trimBorders: card.input.trimBorders,
        });
        if (result.ok) inputs.push({ hash, rgb: result.rgb });
      } catch (err) {
        log.warn(`could not re-read ${row.path}: ${(err as Error).message}`);
      }
    }
    if (!inputs.length) continue;
    await embedInputs(repo, embedder, opts.model, views, inputs);
    count += inputs.length;
  }
  return count;
}

/** Runs the network on every view of `inputs` and stores the features, one transaction a batch. */
async function embedInputs(
  repo: PhotoRepository,
  embedder: Embedder,
  model: LoadedModel,
  views: ViewName[],
  inputs: PendingInput[],
): Promise<void> {
  const { card } = model;
  const size = card.input.size;
  const rgbs = inputs.flatMap((p) => views.map((v) => viewOf(p.rgb, size, v)));
  const features = await embedder.features(
    toInputTensor(rgbs, size, card.input.mean, card.input.std),
    rgbs.length,
  );
  const dims = card.output.dims;
  repo.transaction(() =>
    inputs.forEach((p, i) =>
      views.forEach((view, j) => {
        const row = i * views.length + j;
        repo.putFeatures(
          p.hash,
          card.networkVersion,
          view,
          features.slice(row * dims, (row + 1) * dims),
        );
      }),
    ),
  );
}

/** Embeds new features through the head with onnxruntime (several times faster than plain JS). */
async function refreshEmbeddingsFast(db: Db, model: LoadedModel): Promise<void> {
  const backend = await createHeadBackend();
  try {
    await embedMissingWithHead(db, model, backend);
  } finally {
    await backend.dispose();
  }
}
