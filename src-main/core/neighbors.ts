/**
 * Neighbour search over photo embeddings: exact where the library is small, and above that an
 * approximate index (a two-table inverted multi-index with multi-probe, exact verification and one
 * round of neighbour-of-neighbour refinement) whose recall the grouping bench measures. Distances
 * between photos take every extra view (mirror, rotations) into account. Pure: no Node imports.
 */

/**
 * The embeddings of `count` photos, `dims` values each, row-major in `data` (the identity view).
 * `views` holds extra view rows (a mirrored or rotated copy of a photo, embedded by the same
 * network): row r belongs to photo `views.photo[r]` and lies at `views.data[r * dims ...]`.
 * Vectors are expected L2-normalised, so distances lie in [0, 2].
 */
export interface VectorSet {
  dims: number;
  count: number;
  data: Float32Array;
  views?: { photo: Int32Array; data: Float32Array };
}

/** Another photo and its view-aware Euclidean distance (see `photoDistance`). */
export interface Neighbor {
  index: number;
  distance: number;
}

/**
 * How a search runs: `exact` compares every pair, `index` uses the approximate index, `auto` (the
 * default) is exact while that costs under about a second and uses the index above.
 */
export type SearchStrategy = 'auto' | 'exact' | 'index';

/**
 * Every pair of photos within a radius, as symmetric adjacency lists: the neighbours of photo i are
 * `neighbors[offsets[i] .. offsets[i + 1])`, sorted by index, with their `distances`.
 */
export interface PairGraph {
  count: number;
  radius: number;
  offsets: Int32Array;
  neighbors: Int32Array;
  distances: Float64Array;
}

/** Distance evaluations an `auto` search may spend on exact comparison (about one second). */
const EXACT_BUDGET = 12_000_000;

/** Photos per index cell the index aims for; cells = side^2 per table. */
const CELL_TARGET = 64;

/** Independent index tables (each a different random split of the dimensions). */
const INDEX_TABLES = 2;

/** Cells probed per table for every view of a query photo. */
const INDEX_PROBES = 3;

/** Best centres per half-space combined when ranking the cells to probe. */
const INDEX_SPREAD = 3;

/** Rows of the sample the centres are trained on, and Lloyd iterations. */
const TRAIN_SAMPLE = 12_000;
const TRAIN_ITERATIONS = 6;

/** Dimensions summed into one sketch value (1: the sketch is the whole vector in int8). */
const SKETCH_GROUP = 1;

/** Neighbours of one photo whose pairs the refinement checks (the nearest ones when more). */
const REFINE_FANOUT = 48;

/** Seed of the index's pseudo-random choices, so the same input always gives the same result. */
const INDEX_SEED = 0x5eed;

/**
 * Checks that a VectorSet is consistent; throws a RangeError saying what does not fit. Called by
 * every public search; cheap (no pass over the values).
 */
export function checkVectorSet(set: VectorSet): void {
  const { dims, count, data, views } = set;
  if (!Number.isInteger(dims) || dims < 1) {
    throw new RangeError(`Vector dimension must be a positive integer; got ${dims}.`);
  }
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`Vector count must be a non-negative integer; got ${count}.`);
  }
  if (data.length !== count * dims) {
    throw new RangeError(
      `${count} vectors of ${dims} values need ${count * dims}; got ${data.length}.`,
    );
  }
  if (!views) return;
  if (views.data.length !== views.photo.length * dims) {
    throw new RangeError(
      `${views.photo.length} view rows of ${dims} values need ${views.photo.length * dims}; ` +
        `got ${views.data.length}.`,
    );
  }
  for (let r = 0; r < views.photo.length; r++) {
    const p = views.photo[r];
    if (p < 0 || p >= count) {
      throw new RangeError(`View row ${r} names photo ${p}; photos are 0 to ${count - 1}.`);
    }
  }
}

/**
 * Squared Euclidean distance between two rows. Stops after about half the dimensions when the
 * partial sum already exceeds `bound`, and then returns that partial sum (still > `bound`).
 */
export function squaredDistance(
  a: Float32Array,
  aOffset: number,
  b: Float32Array,
  bOffset: number,
  dims: number,
  bound = Infinity,
): number {
  const half = (dims >> 3) << 2;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let t = 0;
  for (; t < half; t += 4) {
    const x0 = a[aOffset + t] - b[bOffset + t];
    const x1 = a[aOffset + t + 1] - b[bOffset + t + 1];
    const x2 = a[aOffset + t + 2] - b[bOffset + t + 2];
    const x3 = a[aOffset + t + 3] - b[bOffset + t + 3];
    s0 += x0 * x0;
    s1 += x1 * x1;
    s2 += x2 * x2;
    s3 += x3 * x3;
  }
  if (half > 0 && s0 + s1 + s2 + s3 > bound) return s0 + s1 + s2 + s3;
  for (; t + 3 < dims; t += 4) {
    const x0 = a[aOffset + t] - b[bOffset + t];
    const x1 = a[aOffset + t + 1] - b[bOffset + t + 1];
    const x2 = a[aOffset + t + 2] - b[bOffset + t + 2];
    const x3 = a[aOffset + t + 3] - b[bOffset + t + 3];
    s0 += x0 * x0;
    s1 += x1 * x1;
    s2 += x2 * x2;
    s3 += x3 * x3;
  }
  for (; t < dims; t++) {
    const x = a[aOffset + t] - b[bOffset + t];
    s0 += x * x;
  }
  return s0 + s1 + s2 + s3;
}

/** The extra view rows of each photo: rows of photo i are `rows[start[i] .. start[i + 1])`. */
export interface ViewLists {
  start: Int32Array;
  rows: Int32Array;
}

/** Groups the extra view rows of a set by photo (empty lists when the set has no views). */
export function listViews(set: VectorSet): ViewLists {
  const start = new Int32Array(set.count + 1);
  const owners = set.views?.photo ?? new Int32Array(0);
  for (let r = 0; r < owners.length; r++) start[owners[r] + 1]++;
  for (let i = 0; i < set.count; i++) start[i + 1] += start[i];
  const fill = start.slice(0, set.count);
  const rows = new Int32Array(owners.length);
  for (let r = 0; r < owners.length; r++) rows[fill[owners[r]]++] = r;
  return { start, rows };
}

/**
 * Squared view-aware distance between photos a and b: the smallest of |a - b|, |v - b| over the
 * extra views v of a, and |w - a| over the extra views w of b (identity rows on the other side).
 * With `bound`, any result above it may be returned inexactly (still above `bound`).
 */
export function photoDistanceSquared(
  set: VectorSet,
  views: ViewLists,
  a: number,
  b: number,
  bound = Infinity,
): number {
  const { dims, data } = set;
  let best = squaredDistance(data, a * dims, data, b * dims, dims, bound);
  const viewData = set.views?.data;
  if (!viewData) return best;
  for (let v = views.start[a]; v < views.start[a + 1]; v++) {
    const d = squaredDistance(
      viewData,
      views.rows[v] * dims,
      data,
      b * dims,
      dims,
      Math.min(best, bound),
    );
    if (d < best) best = d;
  }
  for (let w = views.start[b]; w < views.start[b + 1]; w++) {
    const d = squaredDistance(
      viewData,
      views.rows[w] * dims,
      data,
      a * dims,
      dims,
      Math.min(best, bound),
    );
    if (d < best) best = d;
  }
  return best;
}

/** View-aware Euclidean distance between photos a and b (see `photoDistanceSquared`). */
export function photoDistance(
  set: VectorSet,
  a: number,
  b: number,
  views = listViews(set),
): number {
  return Math.sqrt(photoDistanceSquared(set, views, a, b));
}

/** Whether `strategy` means the exact search for this set. */
function isExact(set: VectorSet, strategy: SearchStrategy): boolean {
  if (strategy !== 'auto') return strategy === 'exact';
  const viewRows = set.views?.photo.length ?? 0;
  const perPair = 1 + (2 * viewRows) / Math.max(1, set.count);
  return (set.count * (set.count - 1) * perPair) / 2 <= EXACT_BUDGET;
}

// ---------------------------------------------------------------------------------------------
// Deterministic pseudo-random numbers (mulberry32).

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

// ---------------------------------------------------------------------------------------------
// The index. Each table splits the dimensions at random into two halves and learns `side` centres
// per half (k-means on a sample); a cell is a pair of centres, so a table has side^2 cells for the
// cost of 2 x side half-length dot products per vector. A photo is stored in its best cell; a query
// probes its best `probes` cells, ranked by the summed half distances.

/** One table of the index: the dimension split and the centres of each half. */
export interface IndexTable {
  dimsA: Int32Array;
  dimsB: Int32Array;
  /** `side` centres of `dimsA.length` values, then their squared norms. */
  centresA: Float32Array;
  normsA: Float32Array;
  centresB: Float32Array;
  normsB: Float32Array;
}

/** The trained part of an index: plain typed arrays, so it can be sent to worker threads. */
export interface IndexPlan {
  dims: number;
  side: number;
  probes: number;
  spread: number;
  tables: IndexTable[];
  /**
   * The sketch of a row: sums of `sketchGroup` consecutive dimensions over the square root of
   * their count (an orthogonal projection, so it never lengthens a distance) quantised to int8 in
   * steps of `sketchStep`; `sketchWidth` values.
   */
  sketchGroup: number;
  sketchWidth: number;
  sketchStep: number;
}

/**
 * A trained index with every photo filed: cell c of table t lists the photos
 * `members[t][start[t][c] ..]`, whose sketches lie in the same order in `sketches[t]`, so a probe
 * reads one contiguous block.
 */
export interface NeighborIndex extends IndexPlan {
  start: Int32Array[];
  members: Int32Array[];
  sketches: Int8Array[];
}

/** Cell ranking options of `planIndex`; the defaults are the ones the bench measured. */
export interface IndexOptions {
  tables?: number;
  probes?: number;
  spread?: number;
  cellTarget?: number;
  sketchGroup?: number;
}

/**
 * Trains the index for a set: the dimension splits and the centres of every table, from a sample
 * of the identity rows. Deterministic. Throws a RangeError for an empty set.
 */
export function planIndex(set: VectorSet, options: IndexOptions = {}): IndexPlan {
  checkVectorSet(set);
  if (set.count === 0) throw new RangeError('Cannot build a neighbour index over no vectors.');
  const random = createRandom(INDEX_SEED);
  const cellTarget = options.cellTarget ?? CELL_TARGET;
  const side = Math.max(2, Math.min(256, Math.round(Math.sqrt(set.count / cellTarget))));
  const probes = Math.min(options.probes ?? INDEX_PROBES, side * side);
  const spread = Math.min(options.spread ?? INDEX_SPREAD, side);
  const sample = sampleRows(set.count, Math.min(set.count, TRAIN_SAMPLE), random);
  const tables: IndexTable[] = [];
  for (let t = 0; t < (options.tables ?? INDEX_TABLES); t++) {
    const order = shuffledDims(set.dims, random);
    const half = Math.max(1, set.dims >> 1);
    const dimsA = order.slice(0, half);
    const dimsB = set.dims > 1 ? order.slice(half) : order.slice(0, half);
    const centresA = trainCentres(set, sample, dimsA, side, random);
    const centresB = trainCentres(set, sample, dimsB, side, random);
    tables.push({
      dimsA,
      dimsB,
      centresA,
      normsA: squaredNorms(centresA, dimsA.length),
      centresB,
      normsB: squaredNorms(centresB, dimsB.length),
    });
  }
  const sketchGroup = Math.max(1, Math.min(set.dims, options.sketchGroup ?? SKETCH_GROUP));
  const sketchWidth = Math.ceil(set.dims / sketchGroup);
  const shape = { dims: set.dims, sketchGroup, sketchWidth, sketchStep: 1 };
  const sketchStep = largestSketchValue(set, shape) / 127 || 1;
  return { dims: set.dims, side, probes, spread, tables, sketchGroup, sketchWidth, sketchStep };
}

/** The sketch geometry of a plan. */
type SketchShape = Pick<IndexPlan, 'dims' | 'sketchGroup' | 'sketchWidth' | 'sketchStep'>;

/** Sketch value k of a row before quantisation: its group's sum over sqrt(group size). */
function sketchValue(shape: SketchShape, source: Float32Array, offset: number, k: number): number {
  const from = k * shape.sketchGroup;
  const to = Math.min(shape.dims, from + shape.sketchGroup);
  let sum = 0;
  for (let d = from; d < to; d++) sum += source[offset + d];
  return sum / Math.sqrt(to - from);
}

/** The largest absolute sketch value over all rows, identity and views. */
function largestSketchValue(set: VectorSet, shape: SketchShape): number {
  let largest = 0;
  for (const rows of [set.data, set.views?.data ?? new Float32Array(0)]) {
    for (let at = 0; at < rows.length; at += set.dims) {
      for (let k = 0; k < shape.sketchWidth; k++) {
        largest = Math.max(largest, Math.abs(sketchValue(shape, rows, at, k)));
      }
    }
  }
  return largest;
}

/** Writes the int8 sketch of the row at `source[offset]` into `out[outOffset ..]`. */
function sketchRow(
  shape: SketchShape,
  source: Float32Array,
  offset: number,
  out: Int8Array,
  outOffset: number,
): void {
  const scale = 1 / shape.sketchStep;
  for (let k = 0; k < shape.sketchWidth; k++) {
    const v = Math.round(sketchValue(shape, source, offset, k) * scale);
    out[outOffset + k] = Math.max(-127, Math.min(127, v));
  }
}

/**
 * Squared sketch distance bound that a pair within `radius` can never exceed: each quantised
 * value is off by at most half a step, so the sketch distance (in steps) is at most
 * radius / step + sqrt(width).
 */
function sketchBound(plan: IndexPlan, radius: number): number {
  return (radius / plan.sketchStep + Math.sqrt(plan.sketchWidth)) ** 2;
}

/** Squared distance between two sketches, in squared steps. */
function sketchDistance(
  a: Int8Array,
  aOffset: number,
  b: Int8Array,
  bOffset: number,
  width: number,
): number {
  let s0 = 0;
  let s1 = 0;
  let k = 0;
  for (; k + 1 < width; k += 2) {
    const x0 = a[aOffset + k] - b[bOffset + k];
    const x1 = a[aOffset + k + 1] - b[bOffset + k + 1];
    s0 += x0 * x0;
    s1 += x1 * x1;
  }
  if (k < width) s0 += (a[aOffset + k] - b[bOffset + k]) ** 2;
  return s0 + s1;
}

/** `size` distinct row indices out of `count`, in increasing order. */
function sampleRows(count: number, size: number, random: () => number): Int32Array {
  if (size >= count) return Int32Array.from({ length: count }, (_, i) => i);
  const picked = new Uint8Array(count);
  const rows = new Int32Array(size);
  let n = 0;
  while (n < size) {
    const r = Math.floor(random() * count);
    if (picked[r]) continue;
    picked[r] = 1;
    rows[n++] = r;
  }
  return rows.sort();
}

function shuffledDims(dims: number, random: () => number): Int32Array {
  const order = Int32Array.from({ length: dims }, (_, i) => i);
  for (let i = dims - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = order[i];
    order[i] = order[j];
    order[j] = tmp;
  }
  return order;
}

function squaredNorms(centres: Float32Array, width: number): Float32Array {
  const norms = new Float32Array(centres.length / width);
  for (let c = 0; c < norms.length; c++) {
    let s = 0;
    for (let t = 0; t < width; t++) s += centres[c * width + t] ** 2;
    norms[c] = s;
  }
  return norms;
}

/** Lloyd's k-means on the sample rows restricted to `dims`; returns `side` centres. */
function trainCentres(
  set: VectorSet,
  sample: Int32Array,
  dims: Int32Array,
  side: number,
  random: () => number,
): Float32Array {
  const width = dims.length;
  const points = new Float32Array(sample.length * width);
  for (let s = 0; s < sample.length; s++) {
    const base = sample[s] * set.dims;
    for (let t = 0; t < width; t++) points[s * width + t] = set.data[base + dims[t]];
  }
  const centres = new Float32Array(side * width);
  for (let c = 0; c < side; c++) {
    const s = Math.floor(random() * sample.length);
    centres.set(points.subarray(s * width, (s + 1) * width), c * width);
  }
  const sums = new Float64Array(side * width);
  const sizes = new Int32Array(side);
  for (let iteration = 0; iteration < TRAIN_ITERATIONS; iteration++) {
    sums.fill(0);
    sizes.fill(0);
    for (let s = 0; s < sample.length; s++) {
      const c = nearestCentre(points, s * width, centres, side, width);
      sizes[c]++;
      for (let t = 0; t < width; t++) sums[c * width + t] += points[s * width + t];
    }
    for (let c = 0; c < side; c++) {
      // An empty centre restarts on a random sample point, so no cell stays dead.
      const s = Math.floor(random() * sample.length);
      for (let t = 0; t < width; t++) {
        centres[c * width + t] = sizes[c] ? sums[c * width + t] / sizes[c] : points[s * width + t];
      }
    }
  }
  return centres;
}

function nearestCentre(
  points: Float32Array,
  offset: number,
  centres: Float32Array,
  side: number,
  width: number,
): number {
  let best = 0;
  let bestDistance = Infinity;
  for (let c = 0; c < side; c++) {
    const d = squaredDistance(points, offset, centres, c * width, width, bestDistance);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best;
}

/** Reusable buffers of the cell ranking (one per search loop, never shared between threads). */
interface RankScratch {
  half: Float32Array;
  scoresA: Float64Array;
  scoresB: Float64Array;
  bestA: Int32Array;
  bestB: Int32Array;
  comboScore: Float64Array;
  comboCell: Int32Array;
}

function createRankScratch(plan: IndexPlan): RankScratch {
  return {
    half: new Float32Array(plan.dims),
    scoresA: new Float64Array(plan.side),
    scoresB: new Float64Array(plan.side),
    bestA: new Int32Array(plan.spread),
    bestB: new Int32Array(plan.spread),
    comboScore: new Float64Array(plan.probes),
    comboCell: new Int32Array(plan.probes),
  };
}

/**
 * Writes the `plan.probes` best cells of table `table` for the row at `source[offset]` into
 * `out[outOffset ..]`, best first.
 */
function rankCells(
  plan: IndexPlan,
  table: IndexTable,
  source: Float32Array,
  offset: number,
  out: Int32Array,
  outOffset: number,
  scratch: RankScratch,
): void {
  const { side, spread, probes } = plan;
  scoreHalf(
    source,
    offset,
    table.dimsA,
    table.centresA,
    table.normsA,
    side,
    scratch.half,
    scratch.scoresA,
  );
  scoreHalf(
    source,
    offset,
    table.dimsB,
    table.centresB,
    table.normsB,
    side,
    scratch.half,
    scratch.scoresB,
  );
  selectSmallest(scratch.scoresA, spread, scratch.bestA);
  selectSmallest(scratch.scoresB, spread, scratch.bestB);
  const { comboScore, comboCell } = scratch;
  let filled = 0;
  for (let i = 0; i < spread; i++) {
    for (let j = 0; j < spread; j++) {
      const a = scratch.bestA[i];
      const b = scratch.bestB[j];
      const score = scratch.scoresA[a] + scratch.scoresB[b];
      if (filled === probes && score >= comboScore[probes - 1]) continue;
      let k = filled < probes ? filled++ : probes - 1;
      while (k > 0 && comboScore[k - 1] > score) {
        comboScore[k] = comboScore[k - 1];
        comboCell[k] = comboCell[k - 1];
        k--;
      }
      comboScore[k] = score;
      comboCell[k] = a * side + b;
    }
  }
  for (let p = 0; p < probes; p++) out[outOffset + p] = comboCell[Math.min(p, filled - 1)];
}

/** |q - c|^2 - |q|^2 for every centre c of one half (the |q|^2 term ranks nothing). */
function scoreHalf(
  source: Float32Array,
  offset: number,
  dims: Int32Array,
  centres: Float32Array,
  norms: Float32Array,
  side: number,
  half: Float32Array,
  scores: Float64Array,
): void {
  const width = dims.length;
  for (let t = 0; t < width; t++) half[t] = source[offset + dims[t]];
  for (let c = 0; c < side; c++) {
    const base = c * width;
    let s0 = 0;
    let s1 = 0;
    let t = 0;
    for (; t + 1 < width; t += 2) {
      s0 += half[t] * centres[base + t];
      s1 += half[t + 1] * centres[base + t + 1];
    }
    if (t < width) s0 += half[t] * centres[base + t];
    scores[c] = norms[c] - 2 * (s0 + s1);
  }
}

/** Indices of the `n` smallest scores, smallest first (ties: lower index first). */
function selectSmallest(scores: Float64Array, n: number, out: Int32Array): void {
  let filled = 0;
  for (let c = 0; c < scores.length; c++) {
    const s = scores[c];
    if (filled === n && s >= scores[out[n - 1]]) continue;
    let k = filled < n ? filled++ : n - 1;
    while (k > 0 && scores[out[k - 1]] > s) {
      out[k] = out[k - 1];
      k--;
    }
    out[k] = c;
  }
}

/** Ranked cells and sketches of a range of photos (see `describePhotos`). */
export interface PhotoCells {
  /** For photo i and table t, the `probes` best cells at `((i - from) * tables + t) * probes`. */
  cells: Int32Array;
  /** The sketch of photo i at `(i - from) * sketchWidth`. */
  sketch: Int8Array;
}

/**
 * The ranked cells and the sketches of the identity rows of photos `from .. to`. A photo is filed
 * in its first cell of each table. Split the range to run it on several threads.
 */
export function describePhotos(
  set: VectorSet,
  plan: IndexPlan,
  from: number,
  to: number,
): PhotoCells {
  const { tables, probes, sketchWidth } = plan;
  const cells = new Int32Array((to - from) * tables.length * probes);
  const sketch = new Int8Array((to - from) * sketchWidth);
  const scratch = createRankScratch(plan);
  for (let i = from; i < to; i++) {
    for (let t = 0; t < tables.length; t++) {
      const at = ((i - from) * tables.length + t) * probes;
      rankCells(plan, tables[t], set.data, i * set.dims, cells, at, scratch);
    }
    sketchRow(plan, set.data, i * set.dims, sketch, (i - from) * sketchWidth);
  }
  return { cells, sketch };
}

/**
 * Files every photo in its best cell of each table, from `describePhotos(0 .. count)`. With
 * `shared`, the index arrays live in SharedArrayBuffers (for worker threads).
 */
export function fileIndex(
  plan: IndexPlan,
  photos: PhotoCells,
  count: number,
  shared = false,
): NeighborIndex {
  const cellCount = plan.side * plan.side;
  const stride = plan.tables.length * plan.probes;
  const width = plan.sketchWidth;
  const bytes = (n: number): ArrayBuffer | SharedArrayBuffer =>
    shared ? new SharedArrayBuffer(n) : new ArrayBuffer(n);
  const start: Int32Array[] = [];
  const members: Int32Array[] = [];
  const sketches: Int8Array[] = [];
  for (let t = 0; t < plan.tables.length; t++) {
    const cellOf = (i: number): number => photos.cells[i * stride + t * plan.probes];
    const offsets = new Int32Array(bytes((cellCount + 1) * 4));
    for (let i = 0; i < count; i++) offsets[cellOf(i) + 1]++;
    for (let c = 0; c < cellCount; c++) offsets[c + 1] += offsets[c];
    const fill = offsets.slice(0, cellCount);
    const list = new Int32Array(bytes(count * 4));
    const sketch = new Int8Array(bytes(count * width));
    for (let i = 0; i < count; i++) {
      const at = fill[cellOf(i)]++;
      list[at] = i;
      sketch.set(photos.sketch.subarray(i * width, (i + 1) * width), at * width);
    }
    start.push(offsets);
    members.push(list);
    sketches.push(sketch);
  }
  return { ...plan, start, members, sketches };
}

/** Builds the whole index on this thread (see `planIndex`, `describePhotos`, `fileIndex`). */
export function buildNeighborIndex(
  set: VectorSet,
  options: IndexOptions = {},
): { index: NeighborIndex; photos: PhotoCells } {
  const plan = planIndex(set, options);
  const photos = describePhotos(set, plan, 0, set.count);
  return { index: fileIndex(plan, photos, set.count), photos };
}

// ---------------------------------------------------------------------------------------------
// Pairs within a radius.

/** Growable list of (a, b, squared distance) triples. */
export class PairBuffer {
  a = new Int32Array(1024);
  b = new Int32Array(1024);
  d = new Float32Array(1024);
  length = 0;

  /** Appends one pair. */
  push(a: number, b: number, d: number): void {
    if (this.length === this.a.length) this.grow();
    this.a[this.length] = a;
    this.b[this.length] = b;
    this.d[this.length] = d;
    this.length++;
  }

  private grow(): void {
    const size = this.a.length * 2;
    const a = new Int32Array(size);
    const b = new Int32Array(size);
    const d = new Float32Array(size);
    a.set(this.a);
    b.set(this.b);
    d.set(this.d);
    this.a = a;
    this.b = b;
    this.d = d;
  }
}

/** Plain-array form of a PairBuffer, as worker threads send it back. */
export interface PairChunk {
  a: Int32Array;
  b: Int32Array;
  length: number;
}

/** Per-thread buffers of a search over the index. */
interface SearchScratch {
  rank: RankScratch;
  cells: Int32Array;
  sketch: Int8Array;
  stamp: Int32Array;
  row: number;
}

function createSearchScratch(set: VectorSet, index: NeighborIndex): SearchScratch {
  return {
    rank: createRankScratch(index),
    cells: new Int32Array(index.tables.length * index.probes),
    sketch: new Int8Array(index.sketchWidth),
    stamp: new Int32Array(set.count).fill(-1),
    row: 0,
  };
}

/**
 * Candidate pairs of the query photos `from .. to` found through the index: every view of a query
 * probes its best cells in each table; each photo met there whose sketch allows it is compared with
 * that view, and pairs within `radius` are kept (unordered, possibly repeated: `completePairs`
 * settles them). `cells` are the ranked cells of photos `from .. to` (see `describePhotos`).
 */
export function searchPairs(
  set: VectorSet,
  index: NeighborIndex,
  cells: Int32Array,
  from: number,
  to: number,
  radius: number,
): PairChunk {
  const { dims, data } = set;
  const views = listViews(set);
  const found = new PairBuffer();
  const perRow = index.tables.length * index.probes;
  const scratch = createSearchScratch(set, index);
  const query: RowQuery = {
    source: data,
    offset: 0,
    photo: 0,
    bound: radius * radius,
    sketchBound: sketchBound(index, radius),
  };
  for (let i = from; i < to; i++) {
    query.photo = i;
    query.source = data;
    query.offset = i * dims;
    sketchRow(index, data, query.offset, scratch.sketch, 0);
    scanCells(
      set,
      index,
      cells.subarray((i - from) * perRow, (i - from + 1) * perRow),
      query,
      scratch,
      found,
    );
    for (let v = views.start[i]; v < views.start[i + 1]; v++) {
      query.source = set.views!.data;
      query.offset = views.rows[v] * dims;
      for (let t = 0; t < index.tables.length; t++) {
        rankCells(
          index,
          index.tables[t],
          query.source,
          query.offset,
          scratch.cells,
          t * index.probes,
          scratch.rank,
        );
      }
      sketchRow(index, query.source, query.offset, scratch.sketch, 0);
      scanCells(set, index, scratch.cells, query, scratch, found);
    }
  }
  return {
    a: found.a.subarray(0, found.length),
    b: found.b.subarray(0, found.length),
    length: found.length,
  };
}

/** One query row of a radius search. */
interface RowQuery {
  source: Float32Array;
  offset: number;
  photo: number;
  /** Squared radius, and the squared sketch distance a candidate may not exceed. */
  bound: number;
  sketchBound: number;
}

/**
 * Compares one query row with the photos of its probed cells: first by sketch (a lossless bound),
 * then exactly. Each photo is compared once per row.
 */
function scanCells(
  set: VectorSet,
  index: NeighborIndex,
  probed: Int32Array,
  query: RowQuery,
  scratch: SearchScratch,
  found: PairBuffer,
): void {
  const { dims, data } = set;
  const { stamp, sketch: q } = scratch;
  const row = scratch.row++;
  const width = index.sketchWidth;
  for (let t = 0; t < index.tables.length; t++) {
    const start = index.start[t];
    const members = index.members[t];
    const sketches = index.sketches[t];
    for (let p = 0; p < index.probes; p++) {
      const cell = probed[t * index.probes + p];
      for (let m = start[cell]; m < start[cell + 1]; m++) {
        const j = members[m];
        if (j === query.photo || stamp[j] === row) continue;
        stamp[j] = row;
        if (sketchDistance(q, 0, sketches, m * width, width) > query.sketchBound) continue;
        const d = squaredDistance(query.source, query.offset, data, j * dims, dims, query.bound);
        if (d <= query.bound) found.push(query.photo, j, d);
      }
    }
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
      const d = photoDistanceSquared(set, views, i, j, bound);
      if (d <= bound) found.push(i, j, d);
    }
  }
  return {
    a: found.a.subarray(0, found.length),
    b: found.b.subarray(0, found.length),
    length: found.length,
  };
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
  checkVectorSet(set);
  if (!(radius >= 0) || !Number.isFinite(radius)) {
    throw new RangeError(`Search radius must be a non-negative number; got ${radius}.`);
  }
  if (set.count < 2) return completePairs(set, [], radius, 0);
  if (isExact(set, options.strategy ?? 'auto')) {
    return completePairs(set, [searchPairsExact(set, 0, set.count, radius)], radius, 0);
  }
  const { index, photos } = buildNeighborIndex(set, options.index);
  return completePairs(set, [searchPairs(set, index, photos.cells, 0, set.count, radius)], radius);
}

// ---------------------------------------------------------------------------------------------
// k nearest neighbours.

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
  if (isExact(set, options.strategy ?? 'auto')) {
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

function offerIndexCandidates(
  set: VectorSet,
  views: ViewLists,
  lists: NearestLists,
  options: IndexOptions | undefined,
): void {
  const { index, photos } = buildNeighborIndex(set, options);
  const stamp = new Int32Array(set.count).fill(-1);
  const perRow = index.tables.length * index.probes;
  const probed = new Int32Array(perRow);
  const scratch = createRankScratch(index);
  for (let i = 0; i < set.count; i++) {
    stamp[i] = i;
    visitCells(
      set,
      views,
      index,
      photos,
      photos.cells.subarray(i * perRow, (i + 1) * perRow),
      stamp,
      i,
      lists,
    );
    for (let v = views.start[i]; v < views.start[i + 1]; v++) {
      for (let t = 0; t < index.tables.length; t++) {
        const offset = views.rows[v] * set.dims;
        rankCells(
          index,
          index.tables[t],
          set.views!.data,
          offset,
          probed,
          t * index.probes,
          scratch,
        );
      }
      visitCells(set, views, index, photos, probed, stamp, i, lists);
    }
  }
}

/**
 * Offers photo i every photo of its probed cells. Without extra views the sketches give a lower
 * bound of the distance that skips most hopeless candidates; with views (whose distance is a
 * minimum over several rows) every candidate is measured.
 */
function visitCells(
  set: VectorSet,
  views: ViewLists,
  index: NeighborIndex,
  photos: PhotoCells,
  probed: Int32Array,
  stamp: Int32Array,
  i: number,
  lists: NearestLists,
): void {
  const width = index.sketchWidth;
  const slack = Math.sqrt(width);
  const useSketch = !set.views;
  for (let t = 0; t < index.tables.length; t++) {
    for (let p = 0; p < index.probes; p++) {
      const cell = probed[t * index.probes + p];
      for (let m = index.start[t][cell]; m < index.start[t][cell + 1]; m++) {
        const j = index.members[t][m];
        if (stamp[j] === i) continue;
        stamp[j] = i;
        if (useSketch) {
          const steps = Math.sqrt(
            sketchDistance(photos.sketch, i * width, index.sketches[t], m * width, width),
          );
          const lower = Math.max(0, steps - slack) * index.sketchStep;
          if (lower * lower > Math.max(lists.bound(i), lists.bound(j))) continue;
        }
        offerPair(set, views, lists, i, j);
      }
    }
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
