/**
 * Turns what the user says (explicit triplets, "not a duplicate", and review decisions: a photo
 * split out of a group, a group kept whole, copies trashed) into stored labels, and moves labels
 * in and out as JSON.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { AppError, PROBLEM_CATALOG, type ProblemCode } from '../../contract/errors';
import type { Db } from '../db/database';
import { PhotoRepository } from '../db/photo.repository';
import {
  LABEL_SOURCES,
  LabelRepository,
  type LabelSource,
  type PairSource,
  type PhotoRef,
} from './label.repository';

/** How many labels and pairs an operation added (existing ones are not added twice). */
export interface LabelChange {
  labels: number;
  pairs: number;
  /** Import only: entries left out because a photo's content changed since the export. */
  changed?: number;
}

/**
 * The photo scanned at `file` (resolved to an absolute path). Throws AppError PHOTO_NOT_SCANNED
 * naming the path when no scan found it, PHOTO_UNUSABLE when the scan could not read it.
 */
export function resolvePhoto(db: Db, file: string): PhotoRef {
  const abs = path.resolve(file);
  const row = new PhotoRepository(db).findByPath(abs);
  if (!row || row.status === 'missing' || row.status === 'pending') {
    throw new AppError('PHOTO_NOT_SCANNED', { path: abs });
  }
  if (row.status !== 'ok' || !row.content_hash) {
    const code = row.problem_code as ProblemCode | null;
    const reason = row.problem_detail ?? (code ? PROBLEM_CATALOG[code] : 'unreadable');
    throw new AppError('PHOTO_UNUSABLE', { path: abs, reason });
  }
  return { hash: row.content_hash, path: abs };
}

/**
 * Stores "`better` is a better match for `query` than `worse`" (paths of scanned photos). Throws
 * AppError for an unknown path, or LABEL_INVALID when two of the photos have the same content.
 */
export function addTriplet(
  db: Db,
  paths: { query: string; better: string; worse: string },
  source: LabelSource = 'explicit',
): LabelChange {
  const query = resolvePhoto(db, paths.query);
  const better = resolvePhoto(db, paths.better);
  const worse = resolvePhoto(db, paths.worse);
  checkDistinct([query, better, worse]);
  return {
    labels: Number(new LabelRepository(db).addLabel({ query, better, worse, source })),
    pairs: 0,
  };
}

/**
 * Records that two scanned photos are not duplicates: a pair grouping never joins again, and a
 * label that teaches the head to keep them apart.
 */
export function markNotDuplicate(db: Db, first: string, second: string): LabelChange {
  const a = resolvePhoto(db, first);
  const b = resolvePhoto(db, second);
  checkDistinct([a, b]);
  return recordPairsApart(new LabelRepository(db), [[a, b]], 'explicit');
}

/**
 * A photo split out of a group ("not a duplicate of these"): it is kept apart from every photo
 * left in the group, and each of those is a better match for the others than it is.
 * `remaining` are the photos still in the group, first photo first.
 */
export function recordSplit(db: Db, remaining: PhotoRef[], splitOut: PhotoRef): LabelChange {
  const repo = new LabelRepository(db);
  const others = uniqueContents(remaining).filter((p) => p.hash !== splitOut.hash);
  return repo.transaction(() => {
    const change = recordPairsApart(
      repo,
      others.map((p) => [p, splitOut]),
      'split',
      false,
    );
    if (others.length < 2) return change;
    others.forEach((query, i) => {
      const better = i === 0 ? others[1] : others[0];
      if (repo.addLabel({ query, better, worse: splitOut, source: 'split' })) change.labels += 1;
    });
    return change;
  });
}

/** A group marked "keep all, these are different": no two of its photos may group again. */
export function recordKeepAll(db: Db, members: PhotoRef[]): LabelChange {
  const unique = uniqueContents(members);
  const pairs: [PhotoRef, PhotoRef][] = [];
  unique.forEach((a, i) => unique.slice(i + 1).forEach((b) => pairs.push([a, b])));
  return recordPairsApart(new LabelRepository(db), pairs, 'keep-all');
}

/**
 * A group confirmed by trashing copies: each trashed copy was a duplicate of the kept photo. Pass
 * the refs captured before trashing (the files are gone afterwards; their content hashes stay).
 */
export function recordTrashConfirmed(db: Db, kept: PhotoRef, trashed: PhotoRef[]): LabelChange {
  const repo = new LabelRepository(db);
  const copies = uniqueContents(trashed).filter((t) => t.hash !== kept.hash);
  return repo.transaction(() => ({
    labels: copies.filter((copy) =>
      repo.addLabel({ query: kept, better: copy, worse: null, source: 'trash-confirmed' }),
    ).length,
    pairs: 0,
  }));
}

function recordPairsApart(
  repo: LabelRepository,
  pairs: [PhotoRef, PhotoRef][],
  source: PairSource,
  ownTransaction = true,
): LabelChange {
  const run = (): LabelChange => {
    const change = { labels: 0, pairs: 0 };
    for (const [a, b] of pairs) {
      if (repo.addNotDuplicate(a, b, source)) change.pairs += 1;
      const [query, worse] = a.hash < b.hash ? [a, b] : [b, a];
      if (repo.addLabel({ query, better: null, worse, source })) change.labels += 1;
    }
    return change;
  };
  return ownTransaction ? repo.transaction(run) : run();
}

function uniqueContents(refs: PhotoRef[]): PhotoRef[] {
  const seen = new Set<string>();
  return refs.filter((r) => !seen.has(r.hash) && seen.add(r.hash));
}

function checkDistinct(refs: PhotoRef[]): void {
  for (let i = 0; i < refs.length; i++) {
    for (let j = i + 1; j < refs.length; j++) {
      if (refs[i].hash !== refs[j].hash) continue;
      const detail =
        refs[i].path === refs[j].path
          ? `${refs[i].path} is given twice; a label needs different photos`
          : `${refs[i].path} and ${refs[j].path} have identical bytes, so they are the same photo`;
      throw new AppError('LABEL_INVALID', { detail });
    }
  }
}

const PathSchema = z.string().min(1);
const EntrySchema = z
  .object({
    query: PathSchema,
    better: PathSchema.optional(),
    worse: PathSchema.optional(),
    source: z.enum(LABEL_SOURCES as [LabelSource, ...LabelSource[]]).optional(),
    weight: z.number().gt(0).lte(1).optional(),
    createdAt: z.string().optional(),
    hashes: z
      .object({ query: z.string(), better: z.string().optional(), worse: z.string().optional() })
      .optional(),
  })
  .refine((e) => e.better !== undefined || e.worse !== undefined, {
    message: 'an entry needs "better" or "worse" (or both)',
  });
const PairSchema = z.object({
  a: PathSchema,
  b: PathSchema,
  source: z.enum(['explicit', 'split', 'keep-all', 'import']).optional(),
  createdAt: z.string().optional(),
  hashes: z.object({ a: z.string(), b: z.string() }).optional(),
});
const ExportSchema = z.object({
  format: z.literal('doppel-labels'),
  version: z.literal(1),
  labels: z.array(EntrySchema),
  notDuplicate: z.array(PairSchema),
});
const FileSchema = z.union([z.array(EntrySchema), ExportSchema]);

/** The JSON `doppel label --export` writes (and `--import` reads back, with its sources). */
export type LabelsExport = z.infer<typeof ExportSchema>;

/**
 * Every label and pair, with each photo's current path (a photo renamed since it was labelled is
 * found by its content) and its content hash.
 */
export function exportLabels(db: Db): LabelsExport {
  const repo = new LabelRepository(db);
  const photos = new PhotoRepository(db);
  const where = (ref: PhotoRef): string => photos.findOkByHash(ref.hash)?.path ?? ref.path;
  return {
    format: 'doppel-labels',
    version: 1,
    labels: repo.listLabels().map((l) => ({
      query: where(l.query),
      ...(l.better ? { better: where(l.better) } : {}),
      ...(l.worse ? { worse: where(l.worse) } : {}),
      source: l.source,
      weight: l.weight,
      createdAt: l.createdAt,
      hashes: {
        query: l.query.hash,
        ...(l.better ? { better: l.better.hash } : {}),
        ...(l.worse ? { worse: l.worse.hash } : {}),
      },
    })),
    notDuplicate: repo.listNotDuplicates().map((p) => ({
      a: where(p.a),
      b: where(p.b),
      source: p.source,
      createdAt: p.createdAt,
      hashes: { a: p.a.hash, b: p.b.hash },
    })),
  };
}

/** Writes exportLabels to `file`; throws AppError FILE_WRITE_FAILED. Returns the counts. */
export function exportLabelsToFile(db: Db, file: string): LabelChange {
  const data = exportLabels(db);
  try {
    fs.writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
  } catch (err) {
    throw new AppError('FILE_WRITE_FAILED', { path: file, detail: (err as Error).message });
  }
  return { labels: data.labels.length, pairs: data.notDuplicate.length };
}

/**
 * Imports labels from `file`: a plain array of {"query","better","worse"} paths (source `import`),
 * or an export (sources kept). All or nothing: an unknown path or a label that names one photo
 * twice stops the import with AppError LABELS_NOT_IMPORTED naming the entry and the path. Throws
 * AppError LABELS_FILE_INVALID for a file that does not parse; nothing is imported either way.
 */
export function importLabelsFromFile(db: Db, file: string): LabelChange {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new AppError('LABELS_FILE_INVALID', { path: file, detail: (err as Error).message });
  }
  const parsed = FileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('LABELS_FILE_INVALID', {
      path: file,
      detail: describeIssuePath(issue.path) + issue.message,
    });
  }
  try {
    return importLabels(db, parsed.data);
  } catch (err) {
    if (err instanceof AppError && err.code === 'LABEL_INVALID') {
      throw new AppError('LABELS_NOT_IMPORTED', { path: file, detail: String(err.params.detail) });
    }
    throw err;
  }
}

/** [1, "query"] -> "entry 2 (query): "; ["notDuplicate", 0, "a"] -> "pair 1 (a): ". */
function describeIssuePath(at: PropertyKey[]): string {
  if (!at.length) return '';
  const index = at.findIndex((k) => typeof k === 'number');
  if (index < 0) return `at ${at.map(String).join('.')}: `;
  const kind = at[0] === 'notDuplicate' ? 'pair' : 'entry';
  const field = at
    .slice(index + 1)
    .map(String)
    .join('.');
  return `${kind} ${Number(at[index]) + 1}${field ? ` (${field})` : ''}: `;
}

/** Imports parsed labels (see importLabelsFromFile). */
export function importLabels(db: Db, data: z.infer<typeof FileSchema>): LabelChange {
  const isExport = !Array.isArray(data);
  const entries = isExport ? data.labels : data;
  const pairs = isExport ? data.notDuplicate : [];
  const repo = new LabelRepository(db);
  const change: LabelChange = { labels: 0, pairs: 0, changed: 0 };
  const locate = (given: string, hash: string | undefined): PhotoRef | null =>
    locatePhoto(db, given, hash);

  repo.transaction(() => {
    entries.forEach((e, i) => {
      inEntry(`entry ${i + 1}`, () => {
        const query = locate(e.query, e.hashes?.query);
        const better = e.better === undefined ? null : locate(e.better, e.hashes?.better);
        const worse = e.worse === undefined ? null : locate(e.worse, e.hashes?.worse);
        if (!query || (e.better !== undefined && !better) || (e.worse !== undefined && !worse)) {
          change.changed! += 1;
          return;
        }
        checkDistinct([query, better, worse].filter((r): r is PhotoRef => r !== null));
        const source = isExport ? (e.source ?? 'import') : 'import';
        const label = { query, better, worse, source, weight: e.weight, createdAt: e.createdAt };
        if (repo.addLabel(label)) change.labels += 1;
      });
    });
    pairs.forEach((p, i) => {
      inEntry(`pair ${i + 1}`, () => {
        const a = locate(p.a, p.hashes?.a);
        const b = locate(p.b, p.hashes?.b);
        if (!a || !b) {
          change.changed! += 1;
          return;
        }
        checkDistinct([a, b]);
        if (repo.addNotDuplicate(a, b, p.source ?? 'import', p.createdAt)) change.pairs += 1;
      });
    });
  });
  return change;
}

/** Runs one entry of an import; a refusal becomes AppError LABEL_INVALID naming the entry. */
function inEntry(where: string, run: () => void): void {
  try {
    run();
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    const detail = err.code === 'LABEL_INVALID' ? String(err.params.detail) : err.message;
    throw new AppError('LABEL_INVALID', { detail: `${where}: ${detail}` });
  }
}

/**
 * Finds an imported photo: by path, or, when the path is not scanned but the export recorded its
 * content, by that content (the file was renamed or moved). Returns null when the file at the path
 * now has other content. Throws the AppError of resolvePhoto (naming the path) when neither finds it.
 */
function locatePhoto(db: Db, given: string, hash: string | undefined): PhotoRef | null {
  try {
    const ref = resolvePhoto(db, given);
    return hash && ref.hash !== hash ? null : ref;
  } catch (err) {
    const moved = hash ? new PhotoRepository(db).findOkByHash(hash) : undefined;
    if (moved) return { hash: hash!, path: moved.path };
    throw err;
  }
}
