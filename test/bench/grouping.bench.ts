/**
 * Neighbour search and grouping at 100k and 1M synthetic embeddings: time, peak RSS and the recall
 * of within-threshold pairs against exact brute force on a sample of photos. `npm run bench` calls
 * `benchGrouping`; each size runs in its own Node process so its peak RSS is its own.
 * Run alone: `node dist/test/bench/grouping.bench.js 100000 [1000000 ...]`.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { findPairsWithinParallel } from '../../src-main/engine/index/pair-search';
import { groupPhotos, type PhotoGroup } from '../../src-main/core/grouping';
import {
  findNeighbors,
  listViews,
  photoDistanceSquared,
  type PairGraph,
  type VectorSet,
} from '../../src-main/core/neighbors';

/** Thresholds of the bench: the tiny test model's card (0.35 / 0.8), wide for a 128-d model. */
export const BENCH_THRESHOLDS = { nearDuplicate: 0.35, similar: 0.8 };

/** Synthetic embeddings with the cluster each photo was drawn from (-1: unrelated). */
export interface SyntheticEmbeddings {
  set: VectorSet;
  cluster: Int32Array;
}

export interface SyntheticOptions {
  dims?: number;
  seed?: number;
  /** Add a mirror view row per photo; some near-duplicates are then mirrored copies. */
  mirror?: boolean;
  /** Allocate the vectors in shared memory (worker threads then need no copy). */
  shared?: boolean;
}

/**
 * A library-like mix of unit vectors. Backgrounds: unrelated photos scattered around topics
 * (same-topic photos ~1.0-1.2 apart, others ~1.4). Half the photos are unrelated; the rest come in
 * near-duplicate sets (2-4 photos, pair distances ~0.05-0.35), same-scene sets (3-32 photos,
 * ~0.35-0.8) and slow drifts like exposure brackets or pans (4-11 photos, neighbours ~0.3 apart,
 * ends far apart). Deterministic for a seed; about a second per 100k photos.
 */
export function makeSyntheticEmbeddings(
  count: number,
  options: SyntheticOptions = {},
): SyntheticEmbeddings {
  const dims = options.dims ?? 128;
  const random = createRandom(options.seed ?? 1);
  const gauss = createGauss(random);
  const alloc = (n: number): Float32Array =>
    options.shared ? new Float32Array(new SharedArrayBuffer(n * 4)) : new Float32Array(n);
  const data = alloc(count * dims);
  const cluster = new Int32Array(count).fill(-1);
  const topics = new Float32Array(Math.max(10, Math.round(count / 500)) * dims);
  for (let t = 0; t < topics.length; t += dims) randomUnit(topics, t, dims, gauss);

  const centre = new Float32Array(dims);
  const drift = new Float32Array(dims);
  const mirrored = new Uint8Array(count);
  let i = 0;
  let id = 0;
  const emit = (base: Float32Array, spread: number): void => {
    for (let d = 0; d < dims; d++)
      data[i * dims + d] = base[d] + (gauss() * spread) / Math.sqrt(dims);
    normalise(data, i * dims, dims);
    cluster[i++] = id;
  };
  while (i < count) {
    const topic = Math.floor(random() * (topics.length / dims)) * dims;
    for (let d = 0; d < dims; d++)
      centre[d] = topics[topic + d] + (gauss() * 1.2) / Math.sqrt(dims);
    normalise(centre, 0, dims);
    const kind = random();
    if (kind < 0.5) {
      emit(centre, 0);
      cluster[i - 1] = -1;
      continue;
    }
    if (kind < 0.7) {
      const size = 2 + Math.floor(random() * 3);
      const spread = 0.05 + random() * 0.2;
      for (let s = 0; s < size && i < count; s++) {
        emit(centre, spread);
        if (s > 0 && random() < 0.2) mirrored[i - 1] = 1;
      }
    } else if (kind < 0.95) {
      const size = 3 + Math.floor(random() * random() * 30);
      const spread = 0.25 + random() * 0.4;
      for (let s = 0; s < size && i < count; s++) emit(centre, spread);
    } else {
      const size = 4 + Math.floor(random() * 8);
      const step = 0.25 + random() * 0.15;
      drift.set(centre);
      for (let s = 0; s < size && i < count; s++) {
        for (let d = 0; d < dims; d++) drift[d] += (gauss() * step) / Math.sqrt(dims);
        normalise(drift, 0, dims);
        emit(drift, 0.05);
      }
    }
    id++;
  }
  const set: VectorSet = { dims, count, data };
  if (options.mirror) set.views = mirrorViews(data, count, dims, mirrored, alloc);
  return { set, cluster };
}

/**
 * The mirror of a synthetic photo: its vector with dimension pairs swapped (an involution). A
 * photo marked mirrored has its identity replaced by its mirror image, so it matches its set only
 * through a mirror view; every photo gets a mirror view row, as the app embeds them.
 */
function mirrorViews(
  data: Float32Array,
  count: number,
  dims: number,
  mirrored: Uint8Array,
  alloc: (n: number) => Float32Array,
): { photo: Int32Array; data: Float32Array } {
  const swap = (d: number): number => ((d ^ 1) < dims ? d ^ 1 : d);
  const view = alloc(count * dims);
  for (let i = 0; i < count; i++) {
    for (let d = 0; d < dims; d++) view[i * dims + d] = data[i * dims + swap(d)];
    if (!mirrored[i]) continue;
    const row = data.subarray(i * dims, (i + 1) * dims);
    const flipped = view.slice(i * dims, (i + 1) * dims);
    view.set(row, i * dims);
    row.set(flipped);
  }
  return { photo: Int32Array.from({ length: count }, (_, i) => i), data: view };
}

function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal numbers (Box-Muller, both outputs used). */
function createGauss(random: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(random() || 1e-300));
    const a = 2 * Math.PI * random();
    spare = r * Math.sin(a);
    return r * Math.cos(a);
  };
}

function randomUnit(out: Float32Array, offset: number, dims: number, gauss: () => number): void {
  for (let d = 0; d < dims; d++) out[offset + d] = gauss();
  normalise(out, offset, dims);
}

function normalise(v: Float32Array, offset: number, dims: number): void {
  let s = 0;
  for (let d = 0; d < dims; d++) s += v[offset + d] ** 2;
  const scale = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let d = 0; d < dims; d++) v[offset + d] *= scale;
}

/** `size` photos spread evenly over the set (deterministic). */
function samplePhotos(count: number, size: number): number[] {
  const step = count / Math.min(size, count);
  return Array.from({ length: Math.min(size, count) }, (_, s) => Math.floor(s * step + step / 2));
}

/**
 * Recall of the pairs within `radius` that involve the sampled photos: each sampled photo is
 * compared with every photo (exact, view-aware), and the pairs found are looked up in `graph`.
 */
export function pairRecall(
  set: VectorSet,
  graph: PairGraph,
  radius: number,
  sample: number[],
): { recall: number; pairs: number } {
  const views = listViews(set);
  const bound = radius * radius;
  let pairs = 0;
  let found = 0;
  for (const q of sample) {
    const known = new Set(graph.neighbors.subarray(graph.offsets[q], graph.offsets[q + 1]));
    for (let j = 0; j < set.count; j++) {
      if (j === q || photoDistanceSquared(set, views, q, j, bound) > bound) continue;
      pairs++;
      if (known.has(j)) found++;
    }
  }
  return { recall: pairs ? found / pairs : 1, pairs };
}

/** Recall@k of approximate k-NN lists against exact ones on the sampled photos. */
function knnRecall(
  set: VectorSet,
  k: number,
  lists: { index: number }[][],
  sample: number[],
): number {
  const views = listViews(set);
  let hits = 0;
  let total = 0;
  for (const q of sample) {
    const best: { j: number; d: number }[] = [];
    for (let j = 0; j < set.count; j++) {
      if (j === q) continue;
      const d = photoDistanceSquared(set, views, q, j);
      if (best.length === k && d >= best[k - 1].d) continue;
      if (best.length === k) best.pop();
      let at = best.length;
      while (at > 0 && best[at - 1].d > d) at--;
      best.splice(at, 0, { j, d });
    }
    const truth = new Set(best.map((e) => e.j));
    total += truth.size;
    for (const n of lists[q]) if (truth.has(n.index)) hits++;
  }
  return hits / total;
}

/** CPU seconds of this process (all its threads) since `since`. */
function cpuSeconds(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function countKinds(groups: PhotoGroup[]): string {
  const near = groups.filter((g) => g.kind === 'near-duplicate').length;
  return `${near} near-duplicate, ${groups.length - near} similar`;
}

/** Runs every measure of one size in this process; returns the figures. */
export async function measureSize(
  count: number,
  options: { mirror?: boolean; singleThread?: boolean } = {},
): Promise<Record<string, number>> {
  const label = `${count >= 1e6 ? `${count / 1e6}M` : `${count / 1e3}k`}${options.mirror ? '+mirror' : ''}`;
  const out: Record<string, number> = {};
  const log = (name: string, value: number, note = ''): void => {
    out[`${label} ${name}`] = value;
    process.stderr.write(`grouping bench: ${label} ${name}: ${value}${note ? ` (${note})` : ''}\n`);
  };
  const radius = BENCH_THRESHOLDS.similar;

  let t = process.hrtime.bigint();
  const { set } = makeSyntheticEmbeddings(count, { mirror: options.mirror, shared: true });
  log('synthetic generation s', +seconds(t).toFixed(2));

  t = process.hrtime.bigint();
  let cpu = process.cpuUsage();
  const pairs = await findPairsWithinParallel(set, radius, { threads: 2 });
  const groups = groupPhotos(set, BENCH_THRESHOLDS, { pairs });
  log('neighbours+grouping s (2 threads)', +seconds(t).toFixed(2), countKinds(groups));
  log('neighbours+grouping CPU s (2 threads)', +cpuSeconds(cpu).toFixed(2));
  log('pairs within similar', pairs.neighbors.length / 2);

  if (options.singleThread) {
    t = process.hrtime.bigint();
    cpu = process.cpuUsage();
    const single = groupPhotos(set, BENCH_THRESHOLDS);
    log('neighbours+grouping s (1 thread)', +seconds(t).toFixed(2), countKinds(single));
    log('neighbours+grouping CPU s (1 thread)', +cpuSeconds(cpu).toFixed(2));
  }

  t = process.hrtime.bigint();
  const sample = samplePhotos(count, count >= 1e6 ? 200 : 1000);
  const { recall, pairs: truePairs } = pairRecall(set, pairs, radius, sample);
  log(
    `pair recall within ${radius}`,
    +recall.toFixed(4),
    `${truePairs} exact pairs of ${sample.length} sampled photos, checked in ${seconds(t).toFixed(0)} s`,
  );
  for (const r of [BENCH_THRESHOLDS.nearDuplicate, 0.6]) {
    const part = pairRecall(set, pairs, r, sample);
    log(`pair recall within ${r}`, +part.recall.toFixed(4), `${part.pairs} exact pairs`);
  }
  if (count <= 200_000) {
    const k = 10;
    t = process.hrtime.bigint();
    cpu = process.cpuUsage();
    const lists = findNeighbors(set, k);
    log(
      `k-NN (k=${k}) s (1 thread)`,
      +seconds(t).toFixed(2),
      `${cpuSeconds(cpu).toFixed(2)} CPU s`,
    );
    log(`k-NN recall@${k}`, +knnRecall(set, k, lists, sample.slice(0, 300)).toFixed(4));
  }
  log('peak RSS MB', Math.round(process.resourceUsage().maxRSS / 1024));
  return out;
}

/**
 * For each size, generates synthetic embeddings and times neighbour search plus grouping, each size
 * in a fresh Node process (for its own peak RSS). Prints and returns the figures by name.
 * BENCH_GROUPING_MIRROR=1 adds a mirror view per photo; BENCH_GROUPING_SINGLE=1 also times the
 * single-thread path.
 */
export async function benchGrouping(sizes: number[]): Promise<Record<string, number>> {
  const results: Record<string, number> = {};
  for (const size of sizes) {
    const child = spawnSync(process.execPath, [__filename, '--child', String(size)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 16 * 1024 * 1024,
    });
    if (child.status !== 0)
      throw new Error(`grouping bench for ${size} photos failed (exit ${child.status})`);
    Object.assign(results, JSON.parse(child.stdout.trim().split('\n').pop()!));
  }
  process.stderr.write(`grouping bench: machine ${os.cpus().length} cores\n`);
  return results;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const options = {
    mirror: process.env.BENCH_GROUPING_MIRROR === '1',
    singleThread: process.env.BENCH_GROUPING_SINGLE === '1',
  };
  const run =
    args[0] === '--child'
      ? measureSize(Number(args[1]), options).then((r) =>
          process.stdout.write(`${JSON.stringify(r)}\n`),
        )
      : benchGrouping(args.map(Number)).then((r) =>
          process.stdout.write(`${JSON.stringify(r, null, 1)}\n`),
        );
  run.catch((err: unknown) => {
    process.stderr.write(`grouping bench failed: ${(err as Error).stack}\n`);
    process.exitCode = 1;
  });
}
