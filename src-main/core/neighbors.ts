/**
 * Neighbour search over photo embeddings: every pair within a radius (what grouping needs) and the
 * k nearest photos of each photo. Exact where the library is small; above that through the
 * approximate index of neighbor-index.ts, then one round of neighbour-of-neighbour refinement.
 * The grouping bench measures the recall against exact search. Distances between photos take
 * every extra view (mirror, rotations) into account. Pure: no Node imports.
 */
import {
  buildNeighborIndex,
  searchPairs,
  sketchLimit,
  visitCandidates,
  type IndexOptions,
} from './neighbor-index';
import {
  checkVectorSet,
  listViews,
  PairBuffer,
  photoDistanceSquared,
  type Neighbor,
  type PairChunk,
  type VectorSet,
  type ViewLists,
} from './vector-set';

export { checkVectorSet, listViews, photoDistance, photoDistanceSquared } from './vector-set';
export type { Neighbor, PairChunk, VectorSet, ViewLists } from './vector-set';
export type { IndexOptions } from './neighbor-index';

/**
 * How a search runs: `exact` compares every pair, `index` uses the approximate index, `auto` (the
 * default) is exact while that costs under about a second and uses the index above.
 */
export type SearchStrategy = 'auto' | 'exact' | 'index';

/**
 * Every pair of photos within `radius` (inclusive), as symmetric adjacency lists: the neighbours
 * of photo i are `neighbors[offsets[i] .. offsets[i + 1])`, sorted by index, with `distances`.
 */
export interface PairGraph {
  count: number;
  radius: number;
  offsets: Int32Array;
  neighbors: Int32Array;
  distances: Float64Array;
}

/** Photo-pair comparisons an `auto` search may spend on exact search (about a second). */
const EXACT_BUDGET = 12_000_000;

/** Neighbours of one photo whose pairs the refinement checks (the nearest ones when more). */
const REFINE_FANOUT = 48;

/** Whether `strategy` means the exact search for this set. */
export function isExactSearch(set: VectorSet, strategy: SearchStrategy = 'auto'): boolean {
  if (strategy !== 'auto') return strategy === 'exact';
  const viewRows = set.views?.photo.length ?? 0;
  const perPair = 1 + (2 * viewRows) / Math.max(1, set.count);
  return (set.count * (set.count - 1) * perPair) / 2 <= EXACT_BUDGET;
}

/** Checks a set and a radius; throws a RangeError saying what is wrong. */
export function checkSearch(set: VectorSet, radius: number): void {
  checkVectorSet(set);
  if (!(radius >= 0) || !Number.isFinite(radius)) {
    throw new RangeError(`Search radius must be a non-negative number; got ${radius}.`);
  }
}

/**
 * Every pair within `radius` by comparing all pairs, for photos `from .. to` against all later
 * photos (split the range to share the work). Exact, quadratic.
 */
export function searchPairsExact(
  set: VectorSet,
  from: number,
  to: number,
  radius: number,
): PairChunk {
  const bound = radius * radius;
  const views = listViews(set);
  const found = new PairBuffer();
  for (let i = from; i < to; i++) {
    for (let j = i + 1; j < set.count; j++) {
      if (photoDistanceSquared(set, views, i, j, bound) <= bound) found.push(i, j);
    }
  }
  return found.toChunk();
}

/**
 * Turns candidate pairs into the PairGraph: orders and removes repeats, measures each pair's
 * view-aware distance exactly, keeps those within `radius`, then `refineRounds` times checks the
 * pairs among each photo's neighbours that are not known yet (a near-duplicate of a near-duplicate
 * is often near too; this recovers most pairs the index probes missed).
 */
export function completePairs(
  set: VectorSet,
  chunks: PairChunk[],
  radius: number,
  refineRounds = 1,
): PairGraph {
  const views = listViews(set);
  let keys = sortedPairKeys(set.count, chunks);
  let graph = measurePairs(set, views, keys, radius);
  for (let round = 0; round < refineRounds; round++) {
    const extra = neighborOfNeighborKeys(graph);
    if (extra.length === 0) break;
    keys = mergeSortedKeys(graphKeys(graph), extra);
    graph = measurePairs(set, views, keys, radius);
  }
  return graph;
}

/** Pair keys `min * count + max`, sorted and distinct. Keys stay exact below 2^53. */
function sortedPairKeys(count: number, chunks: PairChunk[]): Float64Array {
  let total = 0;
  for (const c of chunks) total += c.length;
  const keys = new Float64Array(total);
  let n = 0;
  for (const c of chunks) {
    for (let p = 0; p < c.length; p++) {
      const a = c.a[p];
      const b = c.b[p];
      keys[n++] = a < b ? a * count + b : b * count + a;
    }
  }
  return distinctSorted(keys.sort());
}

function distinctSorted(keys: Float64Array): Float64Array {
  let n = 0;
  for (let p = 0; p < keys.length; p++) {
    if (p === 0 || keys[p] !== keys[p - 1]) keys[n++] = keys[p];
  }
  return keys.subarray(0, n);
}

/** Measures the pairs of sorted keys and builds the graph of those within `radius`. */
function measurePairs(
  set: VectorSet,
  views: ViewLists,
  keys: Float64Array,
  radius: number,
): PairGraph {
  const { count } = set;
  const bound = radius * radius;
  const kept = new Float64Array(keys.length);
  const dist = new Float64Array(keys.length);
  let n = 0;
  for (let p = 0; p < keys.length; p++) {
    const a = Math.floor(keys[p] / count);
    const b = keys[p] - a * count;
    const d = Math.sqrt(photoDistanceSquared(set, views, a, b, bound));
    if (d > radius) continue;
    kept[n] = keys[p];
    dist[n++] = d;
  }
  return graphFromSortedKeys(count, radius, kept.subarray(0, n), dist);
}

/**
 * Adjacency lists from sorted distinct keys. Walking keys in order appends to each list in
 * increasing neighbour order (smaller partners come from earlier keys), so lists come out sorted.
 */
function graphFromSortedKeys(
  count: number,
  radius: number,
  keys: Float64Array,
  dist: Float64Array,
): PairGraph {
  const offsets = new Int32Array(count + 1);
  for (let p = 0; p < keys.length; p++) {
    const a = Math.floor(keys[p] / count);
    offsets[a + 1]++;
    offsets[keys[p] - a * count + 1]++;
  }
  for (let i = 0; i < count; i++) offsets[i + 1] += offsets[i];
  const fill = offsets.slice(0, count);
  const neighbors = new Int32Array(keys.length * 2);
  const distances = new Float64Array(keys.length * 2);
  for (let p = 0; p < keys.length; p++) {
    const a = Math.floor(keys[p] / count);
    const b = keys[p] - a * count;
    neighbors[fill[a]] = b;
    distances[fill[a]++] = dist[p];
    neighbors[fill[b]] = a;
    distances[fill[b]++] = dist[p];
  }
  return { count, radius, offsets, neighbors, distances };
}

function graphKeys(graph: PairGraph): Float64Array {
  const keys = new Float64Array(graph.neighbors.length / 2);
  let n = 0;
  for (let a = 0; a < graph.count; a++) {
    for (let p = graph.offsets[a]; p < graph.offsets[a + 1]; p++) {
      const b = graph.neighbors[p];
      if (b > a) keys[n++] = a * graph.count + b;
    }
  }
  return keys;
}

/** Keys of the pairs among each photo's nearest neighbours that the graph does not hold yet. */
function neighborOfNeighborKeys(graph: PairGraph): Float64Array {
  const { count, offsets, neighbors } = graph;
  const extra: number[] = [];
  const near = new Int32Array(REFINE_FANOUT);
  for (let x = 0; x < count; x++) {
    const n = nearestOf(graph, x, near);
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const u = Math.min(near[i], near[j]);
        const w = Math.max(near[i], near[j]);
        if (indexOfSorted(neighbors, offsets[u], offsets[u + 1], w) < 0) extra.push(u * count + w);
      }
    }
  }
  return distinctSorted(Float64Array.from(extra).sort());
}

/** Writes the (at most REFINE_FANOUT) nearest neighbours of x into `out`; returns how many. */
function nearestOf(graph: PairGraph, x: number, out: Int32Array): number {
  const from = graph.offsets[x];
  const size = graph.offsets[x + 1] - from;
  if (size <= out.length) {
    out.set(graph.neighbors.subarray(from, from + size));
    return size;
  }
  const order = Array.from({ length: size }, (_, k) => from + k);
  order.sort(
    (p, q) => graph.distances[p] - graph.distances[q] || graph.neighbors[p] - graph.neighbors[q],
  );
  for (let k = 0; k < out.length; k++) out[k] = graph.neighbors[order[k]];
  return out.length;
}

function mergeSortedKeys(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length || j < b.length) {
    const next = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i++] : b[j++];
    if (n === 0 || out[n - 1] !== next) out[n++] = next;
  }
  return out.subarray(0, n);
}

/** Position of `value` in the sorted range `list[from .. to)`, or -1. */
export function indexOfSorted(list: Int32Array, from: number, to: number, value: number): number {
  let lo = from;
  let hi = to - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = list[mid];
    if (v === value) return mid;
    if (v < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Distance of the pair (a, b) when the graph holds it (within its radius), else undefined. */
export function pairDistance(graph: PairGraph, a: number, b: number): number | undefined {
  const at = indexOfSorted(graph.neighbors, graph.offsets[a], graph.offsets[a + 1], b);
  return at < 0 ? undefined : graph.distances[at];
}

/**
 * Every pair of photos whose view-aware distance is at most `radius` (inclusive). Exact for small
 * sets; above that (or with `strategy: 'index'`) through the index, which may miss a small share of
 * pairs (the bench reports that share) but never reports a pair beyond `radius`.
 * Throws a RangeError for an inconsistent set or a radius that is not a non-negative number.
 */
export function findPairsWithin(
  set: VectorSet,
  radius: number,
  options: { strategy?: SearchStrategy; index?: IndexOptions } = {},
): PairGraph {
  checkSearch(set, radius);
  if (set.count < 2) return completePairs(set, [], radius, 0);
  if (isExactSearch(set, options.strategy)) {
    return completePairs(set, [searchPairsExact(set, 0, set.count, radius)], radius, 0);
  }
  const { index, cells } = buildNeighborIndex(set, options.index);
  const views = listViews(set);
  return completePairs(
    set,
    [searchPairs(set, views, index, 0, cells, 0, set.count, radius)],
    radius,
  );
}

/** The k best (smallest distance, then smallest index) neighbours of every photo. */
class NearestLists {
  readonly index: Int32Array;
  readonly distance: Float64Array;
  readonly size: Int32Array;

  constructor(
    count: number,
    readonly k: number,
    readonly limit: number,
  ) {
    this.index = new Int32Array(count * k);
    this.distance = new Float64Array(count * k);
    this.size = new Int32Array(count);
  }

  /** The squared distance a candidate of photo i must beat (or tie) to enter its list. */
  bound(i: number): number {
    return this.size[i] < this.k ? this.limit : this.distance[i * this.k + this.k - 1];
  }

  /** Offers photo j at squared distance d to the list of photo i. */
  offer(i: number, j: number, d: number): void {
    if (d > this.limit) return;
    const { k } = this;
    const base = i * k;
    let n = this.size[i];
    for (let p = base; p < base + n; p++) if (this.index[p] === j) return;
    if (n === k) {
      const last = base + k - 1;
      if (d > this.distance[last] || (d === this.distance[last] && j > this.index[last])) return;
      n--;
    } else {
      this.size[i]++;
    }
    let p = base + n;
    while (
      p > base &&
      (this.distance[p - 1] > d || (this.distance[p - 1] === d && this.index[p - 1] > j))
    ) {
      this.distance[p] = this.distance[p - 1];
      this.index[p] = this.index[p - 1];
      p--;
    }
    this.distance[p] = d;
    this.index[p] = j;
  }

  toNeighbors(): Neighbor[][] {
    const out: Neighbor[][] = [];
    for (let i = 0; i < this.size.length; i++) {
      const list: Neighbor[] = [];
      for (let p = i * this.k; p < i * this.k + this.size[i]; p++) {
        list.push({ index: this.index[p], distance: Math.sqrt(this.distance[p]) });
      }
      out.push(list);
    }
    return out;
  }
}

/**
 * The `k` nearest other photos of every photo, nearest first (ties: lower index first), by
 * view-aware Euclidean distance; with `maxDistance`, only those within it (inclusive). Exact for
 * small sets; above that (or with `strategy: 'index'`) approximate: candidates from the index
 * probes, then one round of neighbours of neighbours. A photo never lists itself.
 * Throws a RangeError for an inconsistent set or a k that is not a positive integer.
 */
export function findNeighbors(
  set: VectorSet,
  k: number,
  options: { maxDistance?: number; strategy?: SearchStrategy; index?: IndexOptions } = {},
): Neighbor[][] {
  checkVectorSet(set);
  if (!Number.isInteger(k) || k < 1) {
    throw new RangeError(`k must be a positive integer; got ${k}.`);
  }
  const max = options.maxDistance ?? Infinity;
  if (!(max >= 0)) throw new RangeError(`maxDistance must be a non-negative number; got ${max}.`);
  const lists = new NearestLists(set.count, Math.min(k, Math.max(1, set.count - 1)), max * max);
  const views = listViews(set);
  if (isExactSearch(set, options.strategy)) {
    for (let i = 0; i < set.count; i++) {
      for (let j = i + 1; j < set.count; j++) offerPair(set, views, lists, i, j);
    }
    return lists.toNeighbors();
  }
  offerIndexCandidates(set, views, lists, options.index);
  offerNeighborsOfNeighbors(set, views, lists);
  return lists.toNeighbors();
}

/** Measures (i, j) once and offers it to both lists. */
function offerPair(
  set: VectorSet,
  views: ViewLists,
  lists: NearestLists,
  i: number,
  j: number,
): void {
  const bound = Math.max(lists.bound(i), lists.bound(j));
  const d = photoDistanceSquared(set, views, i, j, bound);
  lists.offer(i, j, d);
  lists.offer(j, i, d);
}

/**
 * Offers each photo the candidates the index finds for it: all are ranked by sketch distance
 * (within about 0.05 of the true one) and only the best `2k + 8` are measured exactly.
 */
function offerIndexCandidates(
  set: VectorSet,
  views: ViewLists,
  lists: NearestLists,
  options: IndexOptions | undefined,
): void {
  const { index, cells } = buildNeighborIndex(set, options);
  const best = new SmallestList(2 * lists.k + 8);
  const limit = Number.isFinite(lists.limit)
    ? sketchLimit(index.store, Math.sqrt(lists.limit))
    : Infinity;
  const stamp = new Int32Array(set.count).fill(-1);
  let i = 0;
  const visit = (j: number, sketch: number): void => {
    if (j !== i && sketch <= limit) best.offer(j, sketch);
  };
  for (i = 0; i < set.count; i++) {
    best.clear();
    visitCandidates(set, views, index, 0, cells, i, visit);
    for (let p = 0; p < best.size; p++) {
      const j = best.items[p];
      if (stamp[j] === i) continue;
      stamp[j] = i;
      offerPair(set, views, lists, i, j);
    }
  }
}

/** The `capacity` items with the smallest keys offered so far (repeats allowed). */
class SmallestList {
  readonly items: Int32Array;
  private readonly keys: Float64Array;
  size = 0;

  constructor(readonly capacity: number) {
    this.items = new Int32Array(capacity);
    this.keys = new Float64Array(capacity);
  }

  clear(): void {
    this.size = 0;
  }

  offer(item: number, key: number): void {
    if (this.size === this.capacity && key >= this.keys[this.size - 1]) return;
    let at = this.size < this.capacity ? this.size++ : this.size - 1;
    while (at > 0 && this.keys[at - 1] > key) {
      this.keys[at] = this.keys[at - 1];
      this.items[at] = this.items[at - 1];
      at--;
    }
    this.keys[at] = key;
    this.items[at] = item;
  }
}

/** One round of NN-descent: each photo's neighbours' neighbours become candidates. */
function offerNeighborsOfNeighbors(set: VectorSet, views: ViewLists, lists: NearestLists): void {
  const { k } = lists;
  const stamp = new Int32Array(set.count).fill(-1);
  const snapshot = lists.index.slice();
  const sizes = lists.size.slice();
  for (let i = 0; i < set.count; i++) {
    stamp[i] = i;
    for (let p = i * k; p < i * k + sizes[i]; p++) stamp[snapshot[p]] = i;
    for (let p = i * k; p < i * k + sizes[i]; p++) {
      const u = snapshot[p];
      for (let q = u * k; q < u * k + sizes[u]; q++) {
        const w = snapshot[q];
        if (stamp[w] === i) continue;
        stamp[w] = i;
        offerPair(set, views, lists, i, w);
      }
    }
  }
}
