/**
 * Photo embeddings as the neighbour search sees them, and the view-aware distance between two
 * photos. Pure: no Node imports.
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

/** Pairs of photos found by a search (unordered, possibly repeated), as plain arrays. */
export interface PairChunk {
  a: Int32Array;
  b: Int32Array;
  length: number;
}

/** Growable list of photo pairs. */
export class PairBuffer {
  private a = new Int32Array(1024);
  private b = new Int32Array(1024);
  private length = 0;

  /** Appends the pair (a, b). */
  push(a: number, b: number): void {
    if (this.length === this.a.length) {
      const a2 = new Int32Array(this.length * 2);
      const b2 = new Int32Array(this.length * 2);
      a2.set(this.a);
      b2.set(this.b);
      this.a = a2;
      this.b = b2;
    }
    this.a[this.length] = a;
    this.b[this.length] = b;
    this.length++;
  }

  /** The pairs so far, trimmed to their count (copies, so they can be transferred). */
  toChunk(): PairChunk {
    return {
      a: this.a.slice(0, this.length),
      b: this.b.slice(0, this.length),
      length: this.length,
    };
  }
}
