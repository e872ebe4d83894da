/**
 * Every head trained on this machine, and which one is current. Version 1 is always the shipped
 * head (from the model folder, no row); trained heads are versions 2, 3, ... and never deleted.
 */
import type { Head } from '../../core/head';
import type { Db } from '../db/database';

/** The version number of the shipped head. */
export const SHIPPED_VERSION = 1;
/** Settings key holding the current head version. */
const CURRENT_KEY = 'head.current';

/** What a trained head was measured at when it was made. */
export interface HeadMetrics {
  heldOut: { before: number; after: number };
  generic: { before: number; after: number } | null;
  /** Distinct triplets trained on and held out. */
  trained: number;
  heldOutCount: number;
  seconds: number;
}

/** A stored trained head (weights not loaded). */
export interface StoredHead {
  version: number;
  createdAt: string;
  /** The version that was current when this one was trained. */
  parent: number;
  /** Network whose features it was trained on, and the shipped head it started from. */
  networkVersion: string;
  baseHead: string;
  inDims: number;
  outDims: number;
  metrics: HeadMetrics;
}

interface HeadDbRow {
  version: number;
  created_at: string;
  parent: number;
  network_version: string;
  base_head: string;
  in_dims: number;
  out_dims: number;
  metrics: string;
}

/**
 * The key a head's embeddings are stored under: the shipped head's own version, or that version
 * with `+user<N>` for trained head N, so embeddings of two heads never mix.
 */
export function headKey(baseHead: string, version: number): string {
  return version === SHIPPED_VERSION ? baseHead : `${baseHead}+user${version}`;
}

/** Prepared statements over the heads table and the current-head setting. */
export class HeadRepository {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO heads (version, created_at, parent, network_version, base_head, in_dims,
           out_dims, weights, metrics)
         VALUES (@version, @createdAt, @parent, @networkVersion, @baseHead, @inDims, @outDims,
           @weights, @metrics)`,
      ),
      maxVersion: db.prepare<[], { v: number | null }>('SELECT MAX(version) AS v FROM heads'),
      list: db.prepare<[], HeadDbRow>(
        `SELECT version, created_at, parent, network_version, base_head, in_dims, out_dims, metrics
         FROM heads ORDER BY version`,
      ),
      weights: db.prepare<[number], { weights: Buffer }>(
        'SELECT weights FROM heads WHERE version = ?',
      ),
      setting: db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?'),
      putSetting: db.prepare('INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)'),
    };
  }

  /** Stores a trained head as the next version and returns that version. */
  insert(head: Omit<StoredHead, 'version'>, weight: Float32Array, bias: Float32Array): number {
    const version = Math.max(SHIPPED_VERSION, this.stmts.maxVersion.get()?.v ?? 0) + 1;
    const blob = Buffer.alloc((weight.length + bias.length) * 4);
    Buffer.from(weight.buffer, weight.byteOffset, weight.byteLength).copy(blob, 0);
    Buffer.from(bias.buffer, bias.byteOffset, bias.byteLength).copy(blob, weight.byteLength);
    this.stmts.insert.run({
      version,
      createdAt: head.createdAt,
      parent: head.parent,
      networkVersion: head.networkVersion,
      baseHead: head.baseHead,
      inDims: head.inDims,
      outDims: head.outDims,
      weights: blob,
      metrics: JSON.stringify(head.metrics),
    });
    return version;
  }

  list(): StoredHead[] {
    return this.stmts.list.all().map((r) => ({
      version: r.version,
      createdAt: r.created_at,
      parent: r.parent,
      networkVersion: r.network_version,
      baseHead: r.base_head,
      inDims: r.in_dims,
      outDims: r.out_dims,
      metrics: JSON.parse(r.metrics) as HeadMetrics,
    }));
  }

  find(version: number): StoredHead | undefined {
    return this.list().find((h) => h.version === version);
  }

  /** The head of a stored version, keyed for its embeddings; undefined when there is no row. */
  loadHead(version: number): Head | undefined {
    const meta = this.find(version);
    const row = this.stmts.weights.get(version);
    if (!meta || !row) return undefined;
    const values = new Float32Array(row.weights.byteLength / 4);
    new Uint8Array(values.buffer).set(row.weights);
    const weightCount = meta.inDims * meta.outDims;
    return {
      version: headKey(meta.baseHead, version),
      inDims: meta.inDims,
      outDims: meta.outDims,
      weight: values.slice(0, weightCount),
      bias: values.slice(weightCount),
    };
  }

  /** The current head version (the shipped one until another is adopted). */
  currentVersion(): number {
    const value = Number(this.stmts.setting.get(CURRENT_KEY)?.value ?? SHIPPED_VERSION);
    return Number.isInteger(value) && value >= SHIPPED_VERSION ? value : SHIPPED_VERSION;
  }

  setCurrentVersion(version: number): void {
    this.stmts.putSetting.run(CURRENT_KEY, String(version));
  }
}
