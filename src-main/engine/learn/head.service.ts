/**
 * Which head is in force, and what switching heads means: embeddings recomputed from the cached
 * features (no photo decoded), embeddings of heads no longer current dropped, groups rebuilt.
 */
import { AppError } from '../../contract/errors';
import type { Db } from '../db/database';
import { CompanionRepository } from '../db/companion.repository';
import { PhotoRepository } from '../db/photo.repository';
import { createLogger } from '../log/logger';
import type { LoadedModel } from '../ml/model-loader';
import { rebuildGroups } from '../scan/grouping.service';
import { createHeadBackend, embedRows, type HeadBackend } from '../ml/head-runner';
import {
  HeadRepository,
  SHIPPED_VERSION,
  headKey,
  type HeadMetrics,
  type StoredHead,
} from './head.repository';

const log = createLogger('heads');

/** Feature rows embedded per onnxruntime call and per transaction. */
const EMBED_PAGE_ROWS = 4096;

/** Progress of a learning job (training steps, feature rows embedded, grouping). */
export interface LearnProgress {
  phase: 'loading' | 'training' | 'evaluating' | 'embedding' | 'grouping' | 'done';
  done: number;
  total: number;
}

/** One head as `doppel head --list` shows it. */
export interface HeadListing {
  version: number;
  /** `shipped` for version 1, else `trained`. */
  kind: 'shipped' | 'trained';
  isCurrent: boolean;
  /** False for a head trained for another network or shipped head (after a model update). */
  isUsable: boolean;
  createdAt: string | null;
  parent: number | null;
  metrics: HeadMetrics | null;
}

/** Result of making a head current. */
export interface HeadSwitchReport {
  version: number;
  previous: number;
  /** Feature rows embedded for the head (0 when its embeddings were all kept). */
  embedded: number;
  groups: number;
  seconds: number;
}

/**
 * The model with the user's current head in place of the shipped one. Falls back to the shipped
 * head (and logs why) when the current head was trained for another network or shipped head.
 */
export function currentModel(db: Db, shipped: LoadedModel): LoadedModel {
  const heads = new HeadRepository(db);
  const version = heads.currentVersion();
  if (version === SHIPPED_VERSION) return shipped;
  const stored = heads.find(version);
  const problem = stored
    ? incompatibility(stored, shipped)
    : `head version ${version} is not stored`;
  if (problem) {
    log.warn(`using the shipped head: ${problem}`);
    return shipped;
  }
  return { ...shipped, head: heads.loadHead(version)! };
}

/** Every head this database knows for the model, the shipped one first. */
export function listHeads(db: Db, shipped: LoadedModel): HeadListing[] {
  const heads = new HeadRepository(db);
  const current = currentModel(db, shipped).head.version;
  const trained = heads.list().map((h) => ({
    version: h.version,
    kind: 'trained' as const,
    isCurrent: headKey(h.baseHead, h.version) === current,
    isUsable: incompatibility(h, shipped) === null,
    createdAt: h.createdAt,
    parent: h.parent,
    metrics: h.metrics,
  }));
  return [
    {
      version: SHIPPED_VERSION,
      kind: 'shipped',
      isCurrent: current === shipped.head.version,
      isUsable: true,
      createdAt: null,
      parent: null,
      metrics: null,
    },
    ...trained,
  ];
}

/**
 * Parses a head version as the user types it: a number, or `shipped` for version 1. Throws
 * AppError HEAD_VERSION_UNKNOWN listing the known versions.
 */
export function parseHeadVersion(db: Db, given: string): number {
  const known = [SHIPPED_VERSION, ...new HeadRepository(db).list().map((h) => h.version)];
  const version = given.trim().toLowerCase() === 'shipped' ? SHIPPED_VERSION : Number(given);
  if (!known.includes(version)) {
    throw new AppError('HEAD_VERSION_UNKNOWN', {
      given,
      accepted: `shipped (1)${known.length > 1 ? ', ' + known.slice(1).join(', ') : ''}`,
    });
  }
  return version;
}

/**
 * Makes `version` the current head and brings embeddings and groups in line with it. Throws
 * AppError HEAD_VERSION_UNKNOWN or HEAD_INCOMPATIBLE.
 */
export async function switchHead(
  db: Db,
  shipped: LoadedModel,
  version: number,
  opts: { backend?: HeadBackend; onProgress?: (p: LearnProgress) => void } = {},
): Promise<HeadSwitchReport> {
  const started = performance.now();
  const heads = new HeadRepository(db);
  const previous = heads.currentVersion();
  if (version !== SHIPPED_VERSION) {
    const stored = heads.find(version);
    if (!stored) parseHeadVersion(db, String(version));
    const problem = incompatibility(stored!, shipped);
    if (problem) throw new AppError('HEAD_INCOMPATIBLE', { version, detail: problem });
  }

  heads.setCurrentVersion(version);
  const model = currentModel(db, shipped);
  const { embedded, groups } = await refreshForHead(db, model, opts);
  return { version, previous, embedded, groups, seconds: (performance.now() - started) / 1000 };
}

/**
 * Embeds every readable photo that lacks an embedding for `model.head`, drops the embeddings of
 * trained heads that are not current (the shipped head's are kept, so reverting is instant), and
 * rebuilds the groups.
 */
export async function refreshForHead(
  db: Db,
  model: LoadedModel,
  opts: { backend?: HeadBackend; onProgress?: (p: LearnProgress) => void } = {},
): Promise<{ embedded: number; groups: number }> {
  const backend = opts.backend ?? (await createHeadBackend());
  try {
    const embedded = await embedMissingWithHead(db, model, backend, opts.onProgress);
    dropStaleEmbeddings(db, model);
    opts.onProgress?.({ phase: 'grouping', done: 0, total: 1 });
    const photos = new PhotoRepository(db);
    const groups = rebuildGroups(photos, new CompanionRepository(db), model).length;
    opts.onProgress?.({ phase: 'grouping', done: 1, total: 1 });
    return { embedded, groups };
  } finally {
    if (!opts.backend) await backend.dispose();
  }
}

/**
 * Computes the embeddings `model.head` lacks from cached features, one pass in key order, a page
 * at a time: one onnxruntime call and one transaction per page, so memory stays bounded. Returns
 * the number of feature rows embedded.
 */
export async function embedMissingWithHead(
  db: Db,
  model: LoadedModel,
  backend: HeadBackend,
  onProgress?: (p: LearnProgress) => void,
): Promise<number> {
  const { card, head } = model;
  // Keyset paging in primary-key order (no sort): better-sqlite3 cannot write while a read is
  // still iterating. The status index would make the EXISTS scan every photo, hence INDEXED BY.
  const page = db.prepare<
    { net: string; head: string; hash: string; view: string; limit: number },
    FeatureRow
  >(
    `SELECT f.content_hash, f.view, f.data FROM features f
     WHERE f.network_version = @net AND f.content_hash >= @hash
       AND NOT (f.content_hash = @hash AND f.view <= @view)
       AND EXISTS (SELECT 1 FROM photos p INDEXED BY photos_by_content_hash
                   WHERE p.content_hash = f.content_hash AND p.status = 'ok')
       AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.content_hash = f.content_hash
                       AND e.head_version = @head AND e.view = f.view)
     ORDER BY f.content_hash, f.network_version, f.view
     LIMIT @limit`,
  );
  const put = db.prepare(
    'INSERT OR REPLACE INTO embeddings (content_hash, head_version, view, data) VALUES (?, ?, ?, ?)',
  );
  const total =
    db
      .prepare<[], { n: number }>(
        `SELECT COUNT(DISTINCT content_hash) AS n FROM photos WHERE status = 'ok'`,
      )
      .get()!.n * card.views.length;
  const rowBytes = head.outDims * 4;
  const read = (after: { hash: string; view: string }): FeatureRow[] =>
    page.all({ net: card.networkVersion, head: head.version, ...after, limit: EMBED_PAGE_ROWS });
  const buffer = new Float32Array(EMBED_PAGE_ROWS * head.inDims);
  let rows = read({ hash: '', view: '' });
  let count = 0;
  while (rows.length > 0) {
    // onnxruntime computes this page on its own threads while this thread reads the next one.
    const pending = embedRows(backend, head, fillInput(buffer, rows, head.inDims), rows.length);
    const last = rows[rows.length - 1];
    const next = read({ hash: last.content_hash, view: last.view });
    const out = await pending;
    const blob = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    db.transaction(() =>
      rows.forEach((r, i) =>
        put.run(
          r.content_hash,
          head.version,
          r.view,
          blob.subarray(i * rowBytes, (i + 1) * rowBytes),
        ),
      ),
    )();
    count += rows.length;
    onProgress?.({ phase: 'embedding', done: count, total: Math.max(total, count) });
    rows = next;
  }
  return count;
}

interface FeatureRow {
  content_hash: string;
  view: string;
  data: Buffer;
}

/** Copies feature BLOBs into `buffer` (reused across pages); returns the filled part. */
function fillInput(buffer: Float32Array, rows: FeatureRow[], inDims: number): Float32Array {
  const bytes = new Uint8Array(buffer.buffer);
  rows.forEach((r, i) => {
    if (r.data.byteLength !== inDims * 4) {
      throw new AppError('LEARN_FAILED', {
        detail: `cached features of ${r.content_hash} have ${r.data.byteLength / 4} values, the head takes ${inDims}`,
      });
    }
    bytes.set(r.data, i * inDims * 4);
  });
  return buffer.subarray(0, rows.length * inDims);
}

/** Deletes embeddings of trained heads other than `model.head` (never the shipped head's). */
function dropStaleEmbeddings(db: Db, model: LoadedModel): void {
  const stale = new HeadRepository(db)
    .list()
    .map((h) => headKey(h.baseHead, h.version))
    .filter((key) => key !== model.head.version);
  if (!stale.length) return;
  db.prepare('DELETE FROM embeddings WHERE head_version IN (SELECT value FROM json_each(?))').run(
    JSON.stringify(stale),
  );
}

/**
 * Why a stored head cannot run with `shipped`, or null when it can.
 * Limitation: a trained head fits one network and shipped head; after a model update it is
 * listed as unusable and the user's labels must be trained again (`doppel train`).
 */
function incompatibility(stored: StoredHead, shipped: LoadedModel): string | null {
  const { card, head } = shipped;
  if (stored.networkVersion !== card.networkVersion) {
    return `trained on network ${stored.networkVersion}, the model runs ${card.networkVersion}`;
  }
  if (stored.baseHead !== head.version) {
    return `trained from head ${stored.baseHead}, the model ships ${head.version}`;
  }
  if (stored.inDims !== head.inDims || stored.outDims !== head.outDims) {
    return `shaped ${stored.inDims} -> ${stored.outDims}, the model's head is ${head.inDims} -> ${head.outDims}`;
  }
  return null;
}
