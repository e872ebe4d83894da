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
  createIndexStore,
  fileIndex,
  planIndex,
  type IndexOptions,
  type IndexStore,
} from '../../core/neighbor-index';
import {
  checkSearch,
  completePairs,
  findPairsWithin,
  isExactSearch,
  type PairChunk,
  type PairGraph,
  type SearchStrategy,
  type VectorSet,
} from '../../core/neighbors';

/** What each worker gets at start: the set in shared memory, the index store and its slot. */
export interface PairSearchInit {
  dims: number;
  count: number;
  data: SharedArrayBuffer;
  viewPhoto: SharedArrayBuffer | null;
  viewData: SharedArrayBuffer | null;
  store: IndexStore;
  slot: number;
}

/** One message to a worker; the reply carries the same `id`. */
export type PairSearchTask =
  | { id: number; type: 'rank'; from: number; to: number }
  | { id: number; type: 'index'; start: Int32Array[]; members: Int32Array[] }
  | { id: number; type: 'search'; from: number; to: number; cells: Int32Array; radius: number };

/** A task as callers of the pool give it (the pool numbers it). */
type NewTask = PairSearchTask extends infer T ? (T extends unknown ? Omit<T, 'id'> : never) : never;

/** Photo ranges per worker; more than one each so a slow range does not idle the others. */
const RANGES_PER_THREAD = 4;

/** The compiled worker beside this file; absent when this module runs from TypeScript source. */
const WORKER_FILE = path.join(__dirname, 'pair-search.worker.js');

/** Options of `findPairsWithinParallel`. */
export interface ParallelSearchOptions {
  threads?: number;
  strategy?: SearchStrategy;
  index?: IndexOptions;
  /** The compiled worker script; by default the one beside this module. */
  workerFile?: string;
}

/**
 * Every pair within `radius` (see core `findPairsWithin`; the same index and the same pairs),
 * with ranking and searching split over `threads` worker threads (default: the machine's cores,
 * at most 8). Vectors already in SharedArrayBuffers are not copied. Runs on the calling thread
 * instead where the exact search applies, with one thread, or when the compiled worker file is
 * missing (tests running TypeScript directly). Throws what `findPairsWithin` throws.
 */
export async function findPairsWithinParallel(
  set: VectorSet,
  radius: number,
  options: ParallelSearchOptions = {},
): Promise<PairGraph> {
  checkSearch(set, radius);
  const threads = Math.max(1, Math.min(options.threads ?? os.availableParallelism(), 8));
  const workerFile = options.workerFile ?? WORKER_FILE;
  if (threads === 1 || !fs.existsSync(workerFile) || isExactSearch(set, options.strategy)) {
    return findPairsWithin(set, radius, options);
  }

  const store = createIndexStore(planIndex(set, options.index), threads, true);
  const init = (slot: number): PairSearchInit => ({ ...shareSet(set), store, slot });
  const pool = new WorkerPool(threads, workerFile, init);
  try {
    const ranges = splitRanges(set.count, threads * RANGES_PER_THREAD);
    const ranked = await Promise.all(
      ranges.map(([from, to]) => pool.run<{ cells: Int32Array }>({ type: 'rank', from, to })),
    );
    const cells = concat(ranked.map((r) => r.cells));
    const index = fileIndex(set, store, cells, true);
    await pool.broadcast({ type: 'index', start: index.start, members: index.members });
    const stride = store.plan.tables.length * store.plan.probes;
    const chunks = await Promise.all(
      ranges.map(([from, to]) => {
        const part = cells.slice(from * stride, to * stride);
        return pool.run<PairChunk>({ type: 'search', from, to, radius, cells: part });
      }),
    );
    return completePairs(set, chunks, radius);
  } finally {
    await pool.close();
  }
}

/** The set's arrays as SharedArrayBuffers (copied only when not shared already). */
function shareSet(set: VectorSet): Omit<PairSearchInit, 'store' | 'slot'> {
  return {
    dims: set.dims,
    count: set.count,
    data: share(set.data),
    viewPhoto: set.views ? share(set.views.photo) : null,
    viewData: set.views ? share(set.views.data) : null,
  };
}

const shared = new WeakMap<object, SharedArrayBuffer>();

function share(a: Float32Array | Int32Array): SharedArrayBuffer {
  const whole = a.byteOffset === 0 && a.byteLength === a.buffer.byteLength;
  if (a.buffer instanceof SharedArrayBuffer && whole) return a.buffer;
  let copy = shared.get(a);
  if (!copy) {
    copy = new SharedArrayBuffer(a.byteLength);
    new Uint8Array(copy).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    shared.set(a, copy);
  }
  return copy;
}

function splitRanges(count: number, parts: number): [number, number][] {
  const size = Math.ceil(count / parts);
  const ranges: [number, number][] = [];
  for (let from = 0; from < count; from += size) ranges.push([from, Math.min(count, from + size)]);
  return ranges;
}

function concat(parts: Int32Array[]): Int32Array {
  const out = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
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

  constructor(size: number, file: string, init: (slot: number) => PairSearchInit) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(file, { workerData: init(i) });
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
  run<T>(task: Exclude<NewTask, { type: 'index' }>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      const full = { ...task, id: this.nextId++ } as PairSearchTask;
      this.queue.push({ task: full, pending: { resolve: resolve as (v: never) => void, reject } });
      this.pump();
    });
  }

  /** Sends one task to every worker (all idle) and waits for each reply. */
  broadcast(task: Extract<NewTask, { type: 'index' }>): Promise<unknown[]> {
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
