/**
 * Pairs within a radius on several worker threads: the same index and results as core's
 * `findPairsWithin` (identical pairs for the same input), with ranking and searching split over
 * photo ranges. The main thread trains the index, files it and completes the pairs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  checkVectorSet,
  completePairs,
  fileIndex,
  findPairsWithin,
  planIndex,
  type IndexOptions,
  type IndexPlan,
  type PairChunk,
  type PairGraph,
  type PhotoCells,
  type SearchStrategy,
  type VectorSet,
} from '../../core/neighbors';

/** What each worker gets at start: the set in shared memory and the trained plan. */
export interface PairSearchInit {
  dims: number;
  count: number;
  data: SharedArrayBuffer;
  viewPhoto: SharedArrayBuffer | null;
  viewData: SharedArrayBuffer | null;
  plan: IndexPlan;
}

/** A task without its id, as callers of the pool give it. */
type DistributiveOmitId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** One message to a worker; the reply carries the same `id`. */
export type PairSearchTask =
  | { id: number; type: 'rank'; from: number; to: number }
  | { id: number; type: 'index'; start: Int32Array[]; members: Int32Array[]; sketches: Int8Array[] }
  | { id: number; type: 'search'; from: number; to: number; cells: Int32Array; radius: number };

/** Photo ranges per worker; more than one each so a slow range does not idle the others. */
const RANGES_PER_THREAD = 4;

/** The compiled worker beside this file; absent when this module runs from TypeScript source. */
const WORKER_FILE = path.join(__dirname, 'pair-search.worker.js');

/**
 * Every pair within `radius` (see core `findPairsWithin`), searched on `threads` worker threads
 * (default: the machine's cores, at most 8). Vectors already in a SharedArrayBuffer are not copied.
 * Falls back to the calling thread for small sets, one thread, or when the compiled worker file
 * is missing (tests running TypeScript directly). Throws what `findPairsWithin` throws.
 */
export async function findPairsWithinParallel(
  set: VectorSet,
  radius: number,
  options: { threads?: number; strategy?: SearchStrategy; index?: IndexOptions } = {},
): Promise<PairGraph> {
  const threads = Math.max(1, Math.min(options.threads ?? os.availableParallelism(), 8));
  const single = threads === 1 || !fs.existsSync(WORKER_FILE) || options.strategy === 'exact';
  const small = set.count < 20_000 && options.strategy !== 'index';
  if (single || small) return findPairsWithin(set, radius, options);
  checkVectorSet(set);
  if (!(radius >= 0) || !Number.isFinite(radius)) {
    throw new RangeError(`Search radius must be a non-negative number; got ${radius}.`);
  }

  const plan = planIndex(set, options.index);
  const pool = new WorkerPool(threads, toShared(set, plan));
  try {
    const ranges = splitRanges(set.count, threads * RANGES_PER_THREAD);
    const described = await Promise.all(
      ranges.map(([from, to]) => pool.run<PhotoCells>({ type: 'rank', from, to })),
    );
    const cells = concat(described.map((r) => r.cells));
    const sketch = concat(described.map((r) => r.sketch));
    const index = fileIndex(plan, { cells, sketch }, set.count, true);
    await pool.broadcast({
      type: 'index',
      start: index.start,
      members: index.members,
      sketches: index.sketches,
    });
    const stride = plan.tables.length * plan.probes;
    const chunks = await Promise.all(
      ranges.map(([from, to]) =>
        pool.run<PairChunk>({
          type: 'search',
          from,
          to,
          radius,
          cells: cells.slice(from * stride, to * stride),
        }),
      ),
    );
    return completePairs(set, chunks, radius);
  } finally {
    await pool.close();
  }
}

function toShared(set: VectorSet, plan: IndexPlan): PairSearchInit {
  const share = (a: Float32Array | Int32Array): SharedArrayBuffer => {
    if (
      a.buffer instanceof SharedArrayBuffer &&
      a.byteOffset === 0 &&
      a.byteLength === a.buffer.byteLength
    ) {
      return a.buffer;
    }
    const buffer = new SharedArrayBuffer(a.byteLength);
    new Uint8Array(buffer).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    return buffer;
  };
  return {
    dims: set.dims,
    count: set.count,
    data: share(set.data),
    viewPhoto: set.views ? share(set.views.photo) : null,
    viewData: set.views ? share(set.views.data) : null,
    plan,
  };
}

function splitRanges(count: number, parts: number): [number, number][] {
  const size = Math.ceil(count / parts);
  const ranges: [number, number][] = [];
  for (let from = 0; from < count; from += size) ranges.push([from, Math.min(count, from + size)]);
  return ranges;
}

function concat<T extends Int32Array | Int8Array>(parts: T[]): T {
  const Type = parts[0].constructor as new (length: number) => T;
  const out = new Type(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

type Pending = { resolve: (value: never) => void; reject: (error: Error) => void };

/** A fixed set of workers taking tasks from one queue, in order of submission. */
class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: { task: PairSearchTask; pending: Pending }[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | null = null;

  constructor(size: number, init: PairSearchInit) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(WORKER_FILE, { workerData: init });
      worker.on('message', (reply: { id: number }) => this.settle(worker, reply));
      worker.on('error', (error) => this.fail(error));
      worker.on(
        'exit',
        (code) => code !== 0 && this.fail(new Error(`pair search worker exited with ${code}`)),
      );
      this.workers.push(worker);
      this.idle.push(worker);
    }
  }

  /** Runs one task on the next free worker. */
  run<T>(task: DistributiveOmitId<Exclude<PairSearchTask, { type: 'index' }>>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      const full = { ...task, id: this.nextId++ } as PairSearchTask;
      this.queue.push({ task: full, pending: { resolve: resolve as (v: never) => void, reject } });
      this.pump();
    });
  }

  /** Sends one task to every worker (all idle) and waits for each reply. */
  broadcast(task: Omit<Extract<PairSearchTask, { type: 'index' }>, 'id'>): Promise<unknown[]> {
    return Promise.all(
      this.workers.map(
        (worker) =>
          new Promise<unknown>((resolve, reject) => {
            const id = this.nextId++;
            this.pending.set(id, { resolve: resolve as (v: never) => void, reject });
            worker.postMessage({ ...task, id });
          }),
      ),
    );
  }

  private pump(): void {
    while (this.idle.length && this.queue.length) {
      const worker = this.idle.shift()!;
      const { task, pending } = this.queue.shift()!;
      this.pending.set(task.id, pending);
      worker.postMessage(task);
    }
  }

  private settle(worker: Worker, reply: { id: number }): void {
    const pending = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    if (!this.idle.includes(worker)) this.idle.push(worker);
    pending?.resolve(reply as never);
    this.pump();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    for (const { pending } of this.queue.splice(0)) pending.reject(error);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
