/**
 * Reads and writes the user's labels and "not a duplicate" pairs. Both are keyed by content hash,
 * so a decision survives a rename, a move or a rescan; paths are kept for display and export.
 */
import type { Db } from '../db/database';

/** Where a label came from. Implicit sources (decisions in review) weigh less than explicit ones. */
export type LabelSource = 'explicit' | 'split' | 'keep-all' | 'trash-confirmed' | 'import';
/** Every label source, in the order the CHECK constraint lists them. */
export const LABEL_SOURCES: readonly LabelSource[] = [
  'explicit',
  'split',
  'keep-all',
  'trash-confirmed',
  'import',
];

/**
 * Default weight per source, in (0, 1]. A split or "keep all" is a clear statement about those
 * photos but says less about which photo the user would match with which; trashing copies is the
 * ordinary flow and mostly confirms what the model already did.
 */
export const SOURCE_WEIGHTS: Readonly<Record<LabelSource, number>> = {
  explicit: 1,
  import: 1,
  split: 0.5,
  'keep-all': 0.5,
  'trash-confirmed': 0.3,
};

/** Sources a "not a duplicate" pair may have (trashing copies never says two photos differ). */
export type PairSource = Exclude<LabelSource, 'trash-confirmed'>;

/** A photo as labels remember it: its content and the path it had. */
export interface PhotoRef {
  hash: string;
  path: string;
}

/**
 * A stored label: `better` is a better match for `query` than `worse`. A null partner is a pair
 * decision: `worse` only = "not duplicates", `better` only = "duplicates".
 */
export interface Label {
  id: number;
  query: PhotoRef;
  better: PhotoRef | null;
  worse: PhotoRef | null;
  source: LabelSource;
  weight: number;
  createdAt: string;
}

/** A label to store; `weight` and `createdAt` default to the source's weight and now. */
export interface NewLabel {
  query: PhotoRef;
  better: PhotoRef | null;
  worse: PhotoRef | null;
  source: LabelSource;
  /** Defaults to SOURCE_WEIGHTS[source]. */
  weight?: number;
  createdAt?: string;
}

/** Two contents the user said are different pictures. `a.hash < b.hash`. */
export interface NotDuplicatePair {
  a: PhotoRef;
  b: PhotoRef;
  source: PairSource;
  createdAt: string;
}

interface LabelDbRow {
  id: number;
  query_hash: string;
  query_path: string;
  better_hash: string | null;
  better_path: string | null;
  worse_hash: string | null;
  worse_path: string | null;
  source: LabelSource;
  weight: number;
  created_at: string;
}

interface PairDbRow {
  hash_a: string;
  hash_b: string;
  path_a: string;
  path_b: string;
  source: PairSource;
  created_at: string;
}

/** Prepared statements over the labels and not_duplicate_pairs tables of one database. */
export class LabelRepository {
  private readonly stmts;

  constructor(private readonly db: Db) {
    this.stmts = {
      insertLabel: db.prepare(
        `INSERT OR IGNORE INTO labels (query_hash, query_path, better_hash, better_path,
           worse_hash, worse_path, source, weight, created_at)
         VALUES (@queryHash, @queryPath, @betterHash, @betterPath, @worseHash, @worsePath,
           @source, @weight, @createdAt)`,
      ),
      labels: db.prepare<[], LabelDbRow>('SELECT * FROM labels ORDER BY id'),
      countLabels: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM labels'),
      insertPair: db.prepare(
        `INSERT OR IGNORE INTO not_duplicate_pairs (hash_a, hash_b, path_a, path_b, source, created_at)
         VALUES (@hashA, @hashB, @pathA, @pathB, @source, @createdAt)`,
      ),
      pairs: db.prepare<[], PairDbRow>(
        'SELECT * FROM not_duplicate_pairs ORDER BY created_at, hash_a, hash_b',
      ),
      hasPair: db.prepare<[string, string], { one: number }>(
        'SELECT 1 AS one FROM not_duplicate_pairs WHERE hash_a = ? AND hash_b = ?',
      ),
    };
  }

  /** Stores a label; returns false when the same label from the same source already exists. */
  addLabel(label: NewLabel): boolean {
    const weight = label.weight ?? SOURCE_WEIGHTS[label.source];
    const info = this.stmts.insertLabel.run({
      queryHash: label.query.hash,
      queryPath: label.query.path,
      betterHash: label.better?.hash ?? null,
      betterPath: label.better?.path ?? null,
      worseHash: label.worse?.hash ?? null,
      worsePath: label.worse?.path ?? null,
      source: label.source,
      weight,
      createdAt: label.createdAt ?? new Date().toISOString(),
    });
    return info.changes > 0;
  }

  /** Every label, oldest first. */
  listLabels(): Label[] {
    return this.stmts.labels.all().map((r) => ({
      id: r.id,
      query: { hash: r.query_hash, path: r.query_path },
      better: r.better_hash ? { hash: r.better_hash, path: r.better_path! } : null,
      worse: r.worse_hash ? { hash: r.worse_hash, path: r.worse_path! } : null,
      source: r.source,
      weight: r.weight,
      createdAt: r.created_at,
    }));
  }

  countLabels(): number {
    return this.stmts.countLabels.get()!.n;
  }

  /**
   * Records that two contents are not duplicates; returns false when already recorded. Throws a
   * RangeError for two refs with the same content (identical bytes are always the same picture).
   */
  addNotDuplicate(
    first: PhotoRef,
    second: PhotoRef,
    source: PairSource,
    createdAt = new Date().toISOString(),
  ): boolean {
    if (first.hash === second.hash) {
      throw new RangeError('A "not a duplicate" pair needs two different contents.');
    }
    const [a, b] = first.hash < second.hash ? [first, second] : [second, first];
    const info = this.stmts.insertPair.run({
      hashA: a.hash,
      hashB: b.hash,
      pathA: a.path,
      pathB: b.path,
      source,
      createdAt,
    });
    return info.changes > 0;
  }

  listNotDuplicates(): NotDuplicatePair[] {
    return this.stmts.pairs.all().map((r) => ({
      a: { hash: r.hash_a, path: r.path_a },
      b: { hash: r.hash_b, path: r.path_b },
      source: r.source,
      createdAt: r.created_at,
    }));
  }

  isNotDuplicate(hashA: string, hashB: string): boolean {
    const [a, b] = hashA < hashB ? [hashA, hashB] : [hashB, hashA];
    return this.stmts.hasPair.get(a, b) !== undefined;
  }

  /** Runs `fn` in one transaction. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}

/**
 * A snapshot of every "not a duplicate" pair as a predicate over two content hashes (order does
 * not matter), for grouping to honour. Reads the table once; call again after new decisions.
 */
export function excludedPairs(db: Db): (hashA: string, hashB: string) => boolean {
  const keys = new Set<string>();
  const rows = db
    .prepare<[], { hash_a: string; hash_b: string }>(
      'SELECT hash_a, hash_b FROM not_duplicate_pairs',
    )
    .all();
  for (const r of rows) keys.add(`${r.hash_a}\n${r.hash_b}`);
  if (keys.size === 0) return () => false;
  return (hashA, hashB) => keys.has(hashA < hashB ? `${hashA}\n${hashB}` : `${hashB}\n${hashA}`);
}
