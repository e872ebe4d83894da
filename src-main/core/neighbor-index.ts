/**
 * The approximate neighbour index: an inverted multi-index with multi-probe over int8 sketches,
 * compared by a small WebAssembly SIMD kernel. Pure: no Node imports (WebAssembly is a JavaScript
 * global); where WebAssembly SIMD is missing, the same comparisons run in JavaScript, slower.
 *
 * Each table splits the dimensions at random into two halves and learns `side` centres per half
 * (k-means on a sample); a cell is a pair of centres, so a table has side^2 cells for the cost of
 * 2 x side half-length comparisons per vector. A photo is filed in its best cell of each table; a
 * query row probes its best `probes` cells, ranked by the summed half distances. A sketch is a
 * vector quantised to int8 in steps of `sketchStep`; the sketch distance bounds the true distance
 * both ways (within sqrt(dims) steps), so candidates are filtered on sketches without loss and
 * only those that may lie within the radius are measured exactly.
 */
import {
  PairBuffer,
  squaredDistance,
  type PairChunk,
  type VectorSet,
  type ViewLists,
} from './vector-set';

/** Photos per index cell the index aims for; cells = side^2 per table. */
const CELL_TARGET = 64;

/** Independent index tables (each a different random split of the dimensions). */
const INDEX_TABLES = 2;

/** Cells probed per table for every view of a query photo. */
const INDEX_PROBES = 4;

/** Best centres per half-space combined when ranking the cells to probe. */
const INDEX_SPREAD = 3;

/** Rows of the sample the centres are trained on, and Lloyd iterations. */
const TRAIN_SAMPLE = 12_000;
const TRAIN_ITERATIONS = 6;

/** Seed of the index's pseudo-random choices, so the same input always gives the same result. */
const INDEX_SEED = 0x5eed;

/** Sketch distances one kernel call may write into a scratch slot. */
const SLOT_CAPACITY = 4096;

const WASM_PAGE = 65_536;

/** Tuning of the index; the defaults are the ones the grouping bench measured. */
export interface IndexOptions {
  tables?: number;
  probes?: number;
  spread?: number;
  cellTarget?: number;
}

/** One table of the index: the dimension split and the float centres of each half. */
export interface IndexTable {
  dimsA: Int32Array;
  dimsB: Int32Array;
  centresA: Float32Array;
  centresB: Float32Array;
}

/** The trained part of an index: plain data, so it can be sent to worker threads. */
export interface IndexPlan {
  dims: number;
  count: number;
  side: number;
  probes: number;
  spread: number;
  tables: IndexTable[];
  /** Quantisation step of the sketches; `stride` bytes per sketch, `halfStride` per half. */
  sketchStep: number;
  stride: number;
  halfStride: number;
}

/**
 * The memory of an index (byte offsets in `buffer`): one scratch slot per thread, the int8
 * centres of each table (`centres[2t]`, `centres[2t + 1]`) and each table's sketches in cell
 * order (`tables[t]`). A WebAssembly memory (shared when worker threads use it) where the runtime
 * has WebAssembly SIMD, else a plain buffer. Structured-cloneable.
 */
export interface IndexStore {
  plan: IndexPlan;
  memory: WasmMemory | null;
  buffer: ArrayBuffer | SharedArrayBuffer;
  slotSize: number;
  slots: number;
  centres: number[];
  tables: number[];
}

/**
 * A filed index: cell c of table t holds the photos `members[t][start[t][c] ..
 * start[t][c + 1])`, whose sketches lie in the same order at `store.tables[t]`.
 */
export interface NeighborIndex {
  store: IndexStore;
  start: Int32Array[];
  members: Int32Array[];
}

/**
 * Trains an index for a set: dimension splits and centres of every table (k-means on a sample of
 * identity rows) and the sketch step. Deterministic. Throws a RangeError for an empty set.
 */
export function planIndex(set: VectorSet, options: IndexOptions = {}): IndexPlan {
  if (set.count === 0) throw new RangeError('Cannot build a neighbour index over no vectors.');
  const random = createRandom(INDEX_SEED);
  const cellTarget = options.cellTarget ?? CELL_TARGET;
  const side = Math.max(2, Math.min(256, Math.round(Math.sqrt(set.count / cellTarget))));
  const sample = sampleRows(set.count, Math.min(set.count, TRAIN_SAMPLE), random);
  const tables: IndexTable[] = [];
  for (let t = 0; t < (options.tables ?? INDEX_TABLES); t++) {
    const order = shuffledDims(set.dims, random);
    const half = Math.max(1, set.dims >> 1);
    const dimsA = order.slice(0, half);
    const dimsB = set.dims > 1 ? order.slice(half) : order.slice(0, half);
    const centresA = trainCentres(set, sample, dimsA, side, random);
    const centresB = trainCentres(set, sample, dimsB, side, random);
    tables.push({ dimsA, dimsB, centresA, centresB });
  }
  return {
    dims: set.dims,
    count: set.count,
    side,
    probes: Math.min(options.probes ?? INDEX_PROBES, side * side),
    spread: Math.min(options.spread ?? INDEX_SPREAD, side),
    tables,
    sketchStep: largestValue(set) / 127 || 1,
    stride: roundUp16(set.dims),
    halfStride: roundUp16(set.dims - (set.dims >> 1)),
  };
}

function roundUp16(n: number): number {
  return Math.ceil(n / 16) * 16;
}

/** The largest absolute value over all rows, identity and views: the sketch range. */
function largestValue(set: VectorSet): number {
  let largest = 0;
  for (const rows of [set.data, set.views?.data ?? new Float32Array(0)]) {
    for (let k = 0; k < rows.length; k++) {
      const v = rows[k] < 0 ? -rows[k] : rows[k];
      if (v > largest) largest = v;
    }
  }
  return largest;
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

// ---------------------------------------------------------------------------------------------
// The store and its distance kernel.

/**
 * Allocates the memory of an index for `plan` with `slots` scratch slots (one per thread that
 * will search it) and writes the int8 centres. `shared` puts it in shared memory for workers.
 */
export function createIndexStore(plan: IndexPlan, slots: number, shared: boolean): IndexStore {
  const { side, stride, halfStride, tables, count } = plan;
  const slotSize = roundUp16(stride + 2 * halfStride) + SLOT_CAPACITY * 4;
  let at = slotSize * slots;
  const centres: number[] = [];
  for (let t = 0; t < tables.length * 2; t++, at += side * halfStride) centres.push(at);
  const tableAt: number[] = [];
  for (let t = 0; t < tables.length; t++, at += count * stride) tableAt.push(at);
  const memory = createMemory(Math.ceil(at / WASM_PAGE), shared);
  const buffer = memory ? memory.buffer : shared ? new SharedArrayBuffer(at) : new ArrayBuffer(at);
  const store: IndexStore = { plan, memory, buffer, slotSize, slots, centres, tables: tableAt };
  const bytes = new Int8Array(buffer);
  tables.forEach((table, t) => {
    writeCentres(plan, table.centresA, table.dimsA.length, bytes, centres[2 * t]);
    writeCentres(plan, table.centresB, table.dimsB.length, bytes, centres[2 * t + 1]);
  });
  return store;
}

function writeCentres(
  plan: IndexPlan,
  centres: Float32Array,
  width: number,
  bytes: Int8Array,
  at: number,
): void {
  for (let c = 0; c < plan.side; c++) {
    for (let t = 0; t < width; t++) {
      bytes[at + c * plan.halfStride + t] = quantise(centres[c * width + t], plan.sketchStep);
    }
  }
}

function quantise(value: number, step: number): number {
  const q = Math.round(value / step);
  return q > 127 ? 127 : q < -127 ? -127 : q;
}

/** Writes the sketch of the row at `source[offset]` at byte `at` of `bytes` (zero padded). */
function writeSketch(
  plan: IndexPlan,
  source: Float32Array,
  offset: number,
  bytes: Int8Array,
  at: number,
): void {
  for (let d = 0; d < plan.dims; d++) bytes[at + d] = quantise(source[offset + d], plan.sketchStep);
  for (let d = plan.dims; d < plan.stride; d++) bytes[at + d] = 0;
}

/**
 * The squared sketch distance (in steps^2) that a row pair within `radius` never exceeds: each
 * sketch value is off by at most half a step, so the sketch distance is at most
 * radius / step + sqrt(dims) steps.
 */
export function sketchLimit(store: IndexStore, radius: number): number {
  const { sketchStep, dims } = store.plan;
  return (radius / sketchStep + Math.sqrt(dims)) ** 2;
}

/** Writes the squared int8 distances between the sketch at `query` and `count` sketches of
 * `width` bytes from `base` into int32 values from `out` (all byte offsets in the store). */
type DistanceKernel = (
  query: number,
  base: number,
  count: number,
  width: number,
  out: number,
) => void;

/** The WebAssembly API this module uses (the global exists in Node, Electron and browsers). */
interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
}
declare const WebAssembly: WasmApi | undefined;

/** Whether this runtime runs the WebAssembly SIMD kernel (else the index compares in JavaScript). */
export function hasWasmSimd(): boolean {
  return typeof WebAssembly !== 'undefined' && WebAssembly.validate(kernelModule(1, false));
}

function createMemory(pages: number, shared: boolean): WasmMemory | null {
  if (!hasWasmSimd()) return null;
  return new WebAssembly!.Memory(
    shared ? { initial: pages, maximum: pages, shared } : { initial: pages },
  );
}

/** Per-thread kernels and views, keyed by the store's buffer as this thread sees it. */
const threadState = new WeakMap<
  object,
  { kernel: DistanceKernel; bytes: Int8Array; ints: Int32Array }
>();

function stateOf(store: IndexStore): {
  kernel: DistanceKernel;
  bytes: Int8Array;
  ints: Int32Array;
} {
  let state = threadState.get(store.buffer);
  if (!state) {
    const bytes = new Int8Array(store.buffer);
    const ints = new Int32Array(store.buffer, 0, store.buffer.byteLength >> 2);
    const kernel = store.memory ? wasmKernel(store.memory) : jsKernel(bytes, ints);
    state = { kernel, bytes, ints };
    threadState.set(store.buffer, state);
  }
  return state;
}

function wasmKernel(memory: WasmMemory): DistanceKernel {
  const pages = memory.buffer.byteLength / WASM_PAGE;
  const shared =
    typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const module = new WebAssembly!.Module(kernelModule(pages, shared));
  const instance = new WebAssembly!.Instance(module, { env: { memory } });
  return instance.exports.distances as DistanceKernel;
}

function jsKernel(bytes: Int8Array, ints: Int32Array): DistanceKernel {
  return (query, base, count, width, out) => {
    for (let i = 0; i < count; i++) {
      let sum = 0;
      const row = base + i * width;
      for (let k = 0; k < width; k++) {
        const d = bytes[query + k] - bytes[row + k];
        sum += d * d;
      }
      ints[(out >> 2) + i] = sum;
    }
  };
}

/**
 * The kernel as a WebAssembly module importing `env.memory` (`pages` pages, shared or not) and
 * exporting `distances(query, base, count, width, out)`: for each of `count` rows of `width`
 * bytes (a multiple of 16) it widens 16 int8 lanes to int16, subtracts, and sums the squares with
 * i32x4.dot_i16x8_s, then stores the int32 total. Hand-assembled; the unit tests compare it with
 * the JavaScript kernel.
 */
function kernelModule(pages: number, shared: boolean): Uint8Array {
  const get = (i: number): number[] => [0x20, i];
  const set = (i: number): number[] => [0x21, i];
  const simd = (op: number): number[] => [0xfd, ...leb128(op)];
  const load = [...simd(0x00), 0, 0]; // v128.load, align 1, offset 0
  // Locals: 0 query, 1 base, 2 count, 3 width, 4 out, 5 i, 6 k, 7 row, 8 acc, 9 a, 10 b, 11 d.
  const squares = (extend: number): number[] => [
    ...get(9),
    ...simd(extend),
    ...get(10),
    ...simd(extend),
    ...simd(0x91), // i16x8.sub
    0x22,
    11,
    ...get(11),
    ...simd(0xba), // local.tee d; i32x4.dot_i16x8_s d d
    ...get(8),
    ...simd(0xae),
    ...set(8), // acc = i32x4.add
  ];
  const lane = (l: number): number[] => [...get(8), ...simd(0x1b), l]; // i32x4.extract_lane
  const code = [
    0x02,
    0x40,
    0x03,
    0x40, // block loop (rows)
    ...get(5),
    ...get(2),
    0x4f,
    0x0d,
    1, // i >= count: break
    ...simd(0x0c),
    ...new Array<number>(16).fill(0),
    ...set(8), // acc = 0
    ...get(1),
    ...get(5),
    ...get(3),
    0x6c,
    0x6a,
    ...set(7), // row = base + i * width
    0x41,
    0,
    ...set(6), // k = 0
    0x02,
    0x40,
    0x03,
    0x40, // block loop (16-byte chunks)
    ...get(6),
    ...get(3),
    0x4f,
    0x0d,
    1, // k >= width: break
    ...get(0),
    ...get(6),
    0x6a,
    ...load,
    ...set(9), // a = query[k ..]
    ...get(7),
    ...get(6),
    0x6a,
    ...load,
    ...set(10), // b = row[k ..]
    ...squares(0x87), // low 8 lanes (i16x8.extend_low_i8x16_s)
    ...squares(0x88), // high 8 lanes (i16x8.extend_high_i8x16_s)
    ...get(6),
    0x41,
    0x10,
    0x6a,
    ...set(6),
    0x0c,
    0, // k += 16; continue
    0x0b,
    0x0b,
    ...get(4),
    ...get(5),
    0x41,
    2,
    0x74,
    0x6a, // address out + i * 4
    ...lane(0),
    ...lane(1),
    0x6a,
    ...lane(2),
    0x6a,
    ...lane(3),
    0x6a, // horizontal sum
    0x36,
    2,
    0, // i32.store
    ...get(5),
    0x41,
    1,
    0x6a,
    ...set(5),
    0x0c,
    0, // i += 1; continue
    0x0b,
    0x0b,
    0x0b,
  ];
  const body = [0x02, 0x03, 0x7f, 0x04, 0x7b, ...code]; // locals: 3 x i32, 4 x v128
  const limits = shared ? [0x03, ...leb128(pages), ...leb128(pages)] : [0x00, ...leb128(pages)];
  const name = (s: string): number[] => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
  const section = (id: number, bytes: number[]): number[] => [
    id,
    ...leb128(bytes.length),
    ...bytes,
  ];
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, 5, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0]),
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, ...limits]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('distances'), 0x00, 0]),
    ...section(10, [1, ...leb128(body.length), ...body]),
  ]);
}

function leb128(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
}

/**
 * Squared int8 distances from `query` to each `width`-byte row of `rows` (width a multiple of 16)
 * by the WebAssembly kernel, or by the JavaScript one when `wasm` is false or the runtime lacks
 * WebAssembly SIMD. Lets tests check the hand-assembled kernel against plain arithmetic.
 */
export function sketchDistances(
  query: Int8Array,
  rows: Int8Array,
  width: number,
  wasm = true,
): Int32Array {
  const count = rows.length / width;
  const out = roundUp16(width + rows.length);
  const size = out + count * 4;
  const memory = wasm ? createMemory(Math.ceil(size / WASM_PAGE), false) : null;
  const buffer = memory ? memory.buffer : new ArrayBuffer(size);
  const bytes = new Int8Array(buffer);
  const ints = new Int32Array(buffer, 0, buffer.byteLength >> 2);
  const kernel = memory ? wasmKernel(memory) : jsKernel(bytes, ints);
  bytes.set(query, 0);
  bytes.set(rows, width);
  kernel(0, width, count, width, out);
  return ints.slice(out >> 2, (out >> 2) + count);
}

/** Byte offset of a slot's int32 results. */
function outAt(store: IndexStore, slot: number): number {
  const { stride, halfStride } = store.plan;
  return slot * store.slotSize + roundUp16(stride + 2 * halfStride);
}

// ---------------------------------------------------------------------------------------------
// Filing and probing.

/** Buffers one thread reuses while ranking cells. */
class Ranker {
  private readonly scoresA: Int32Array;
  private readonly scoresB: Int32Array;
  private readonly bestA: Int32Array;
  private readonly bestB: Int32Array;
  private readonly comboScore: Float64Array;
  private readonly comboCell: Int32Array;

  constructor(
    private readonly store: IndexStore,
    private readonly slot: number,
  ) {
    const { side, spread, probes } = store.plan;
    this.scoresA = new Int32Array(side);
    this.scoresB = new Int32Array(side);
    this.bestA = new Int32Array(spread);
    this.bestB = new Int32Array(spread);
    this.comboScore = new Float64Array(probes);
    this.comboCell = new Int32Array(probes);
  }

  /** Sketches the row at `source[offset]` into this slot (the query every scan compares with). */
  sketch(source: Float32Array, offset: number): void {
    writeSketch(
      this.store.plan,
      source,
      offset,
      stateOf(this.store).bytes,
      this.slot * this.store.slotSize,
    );
  }

  /** Writes the best cells of every table for the sketched row into `out[at ..]`, best first. */
  rank(out: Int32Array, at: number): void {
    const { tables, probes } = this.store.plan;
    for (let t = 0; t < tables.length; t++) this.rankTable(t, out, at + t * probes);
  }

  private rankTable(t: number, out: Int32Array, at: number): void {
    const { side, spread, probes } = this.store.plan;
    this.scoreHalf(this.store.plan.tables[t].dimsA, this.store.centres[2 * t], this.scoresA);
    this.scoreHalf(this.store.plan.tables[t].dimsB, this.store.centres[2 * t + 1], this.scoresB);
    selectSmallest(this.scoresA, spread, this.bestA);
    selectSmallest(this.scoresB, spread, this.bestB);
    let filled = 0;
    for (let i = 0; i < spread; i++) {
      for (let j = 0; j < spread; j++) {
        const a = this.bestA[i];
        const b = this.bestB[j];
        const score = this.scoresA[a] + this.scoresB[b];
        if (filled === probes && score >= this.comboScore[probes - 1]) continue;
        let k = filled < probes ? filled++ : probes - 1;
        while (k > 0 && this.comboScore[k - 1] > score) {
          this.comboScore[k] = this.comboScore[k - 1];
          this.comboCell[k] = this.comboCell[k - 1];
          k--;
        }
        this.comboScore[k] = score;
        this.comboCell[k] = a * side + b;
      }
    }
    for (let p = 0; p < probes; p++) out[at + p] = this.comboCell[Math.min(p, filled - 1)];
  }

  /** Sketch distances from one half of the sketched row to every centre of that half. */
  private scoreHalf(dims: Int32Array, centresAt: number, scores: Int32Array): void {
    const { kernel, bytes, ints } = stateOf(this.store);
    const { side, stride, halfStride } = this.store.plan;
    const query = this.slot * this.store.slotSize;
    const half = query + stride;
    for (let t = 0; t < halfStride; t++)
      bytes[half + t] = t < dims.length ? bytes[query + dims[t]] : 0;
    const out = outAt(this.store, this.slot);
    kernel(half, centresAt, side, halfStride, out);
    scores.set(ints.subarray(out >> 2, (out >> 2) + side));
  }
}

/** Indices of the `n` smallest scores, smallest first (ties: lower index first). */
function selectSmallest(scores: Int32Array, n: number, out: Int32Array): void {
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

/**
 * The ranked cells of the identity rows of photos `from .. to`, using scratch slot `slot`: for
 * photo i and table t the best `probes` cells lie at `((i - from) * tables + t) * probes`; a photo
 * is filed in the first. Split the range over threads (one slot each).
 */
export function rankPhotos(
  set: VectorSet,
  store: IndexStore,
  slot: number,
  from: number,
  to: number,
): Int32Array {
  const perRow = store.plan.tables.length * store.plan.probes;
  const cells = new Int32Array((to - from) * perRow);
  const ranker = new Ranker(store, slot);
  for (let i = from; i < to; i++) {
    ranker.sketch(set.data, i * set.dims);
    ranker.rank(cells, (i - from) * perRow);
  }
  return cells;
}

/**
 * Files every photo in its best cell of each table (from `rankPhotos(0 .. count)`) and writes the
 * sketches in cell order. `shared` puts the lists in shared memory for workers.
 */
export function fileIndex(
  set: VectorSet,
  store: IndexStore,
  cells: Int32Array,
  shared: boolean,
): NeighborIndex {
  const { side, tables, probes, stride } = store.plan;
  const ints = (n: number): Int32Array =>
    shared ? new Int32Array(new SharedArrayBuffer(n * 4)) : new Int32Array(n);
  const { bytes } = stateOf(store);
  const sketch = new Int8Array(stride);
  const start: Int32Array[] = [];
  const members: Int32Array[] = [];
  const positions: Int32Array[] = [];
  for (let t = 0; t < tables.length; t++) {
    const cellOf = (i: number): number => cells[(i * tables.length + t) * probes];
    const offsets = ints(side * side + 1);
    for (let i = 0; i < set.count; i++) offsets[cellOf(i) + 1]++;
    for (let c = 0; c < side * side; c++) offsets[c + 1] += offsets[c];
    const fill = offsets.slice(0, side * side);
    const list = ints(set.count);
    const position = new Int32Array(set.count);
    for (let i = 0; i < set.count; i++) {
      position[i] = fill[cellOf(i)]++;
      list[position[i]] = i;
    }
    start.push(offsets);
    members.push(list);
    positions.push(position);
  }
  for (let i = 0; i < set.count; i++) {
    writeSketch(store.plan, set.data, i * set.dims, sketch, 0);
    for (let t = 0; t < tables.length; t++) {
      bytes.set(sketch, store.tables[t] + positions[t][i] * stride);
    }
  }
  return { store, start, members };
}

/** Builds a whole index on this thread, with one scratch slot. */
export function buildNeighborIndex(
  set: VectorSet,
  options: IndexOptions = {},
): { index: NeighborIndex; cells: Int32Array } {
  const store = createIndexStore(planIndex(set, options), 1, false);
  const cells = rankPhotos(set, store, 0, 0, set.count);
  return { index: fileIndex(set, store, cells, false), cells };
}

/**
 * Walks the photos filed in the probed cells of the row last sketched into `slot`, calling
 * `visit(photo, sketchDistance)` for each (a photo may come twice, from two tables or cells).
 */
export function scanCells(
  index: NeighborIndex,
  slot: number,
  probed: Int32Array,
  visit: (photo: number, sketch: number) => void,
): void {
  const { store } = index;
  const { kernel, ints } = stateOf(store);
  const { tables, probes, stride } = store.plan;
  const query = slot * store.slotSize;
  const out = outAt(store, slot);
  for (let t = 0; t < tables.length; t++) {
    const start = index.start[t];
    const members = index.members[t];
    for (let p = 0; p < probes; p++) {
      const cell = probed[t * probes + p];
      for (let from = start[cell]; from < start[cell + 1]; from += SLOT_CAPACITY) {
        const n = Math.min(SLOT_CAPACITY, start[cell + 1] - from);
        kernel(query, store.tables[t] + from * stride, n, stride, out);
        for (let k = 0; k < n; k++) visit(members[from + k], ints[(out >> 2) + k]);
      }
    }
  }
}

/**
 * Candidate pairs of the query photos `from .. to` through the index, on scratch slot `slot`:
 * every view of a query probes its best cells in each table, each photo met there whose sketch
 * allows it is measured against that view, and pairs within `radius` are kept (unordered, maybe
 * repeated). `cells` are the ranked cells of photos `from .. to` (see `rankPhotos`).
 */
export function searchPairs(
  set: VectorSet,
  views: ViewLists,
  index: NeighborIndex,
  slot: number,
  cells: Int32Array,
  from: number,
  to: number,
  radius: number,
): PairChunk {
  const { dims, data } = set;
  const perRow = index.store.plan.tables.length * index.store.plan.probes;
  const ranker = new Ranker(index.store, slot);
  const probed = new Int32Array(perRow);
  const stamp = new Int32Array(set.count).fill(-1);
  const found = new PairBuffer();
  const limit = sketchLimit(index.store, radius);
  const bound = radius * radius;
  let row = 0;
  let photo = 0;
  let source = data;
  let offset = 0;
  const visit = (j: number, sketch: number): void => {
    if (j === photo || stamp[j] === row || sketch > limit) return;
    stamp[j] = row;
    if (squaredDistance(source, offset, data, j * dims, dims, bound) <= bound) found.push(photo, j);
  };
  for (photo = from; photo < to; photo++) {
    source = data;
    offset = photo * dims;
    ranker.sketch(source, offset);
    scanCells(
      index,
      slot,
      cells.subarray((photo - from) * perRow, (photo - from + 1) * perRow),
      visit,
    );
    row++;
    for (let v = views.start[photo]; v < views.start[photo + 1]; v++) {
      source = set.views!.data;
      offset = views.rows[v] * dims;
      ranker.sketch(source, offset);
      ranker.rank(probed, 0);
      scanCells(index, slot, probed, visit);
      row++;
    }
  }
  return found.toChunk();
}

/**
 * Calls `visit(photo, sketchDistance)` for the photos met by every view of photo `i` through the
 * index (slot `slot`); the sketch distance (squared, in steps) is from that view to the photo.
 * Photos may repeat. `cells` holds the ranked cells of all photos (see `rankPhotos`).
 */
export function visitCandidates(
  set: VectorSet,
  views: ViewLists,
  index: NeighborIndex,
  slot: number,
  cells: Int32Array,
  i: number,
  visit: (photo: number, sketch: number) => void,
): void {
  const { store } = index;
  const ranker = new Ranker(store, slot);
  const perRow = store.plan.tables.length * store.plan.probes;
  ranker.sketch(set.data, i * set.dims);
  scanCells(index, slot, cells.subarray(i * perRow, (i + 1) * perRow), visit);
  const probed = new Int32Array(perRow);
  for (let v = views.start[i]; v < views.start[i + 1]; v++) {
    ranker.sketch(set.views!.data, views.rows[v] * set.dims);
    ranker.rank(probed, 0);
    scanCells(index, slot, probed, visit);
  }
}
