/**
 * The head: the small linear layer that turns the network's features into embeddings, stored as a
 * weight file beside the model and applied here, so a new head never needs the photos decoded
 * again. Also the distance between embeddings. Pure: no Node imports.
 */

/** A linear layer `outDims x inDims` plus bias; embeddings are its L2-normalised output. */
export interface Head {
  version: string;
  inDims: number;
  outDims: number;
  /** `outDims * inDims` weights, row-major: row o holds the weights of output o. */
  weight: Float32Array;
  bias: Float32Array;
}

/**
 * Reads a head file: `outDims * inDims` little-endian float32 weights (row-major), then `outDims`
 * float32 biases, nothing else. Throws an Error saying the expected and actual byte counts when
 * the length is wrong, and when a value is not finite.
 */
export function parseHead(bytes: Uint8Array, inDims: number, outDims: number, version: string): Head {
  const weightCount = inDims * outDims;
  const expected = (weightCount + outDims) * 4;
  if (bytes.length !== expected) {
    throw new Error(
      `Head file has ${bytes.length} bytes; a ${inDims} -> ${outDims} head needs ${expected} ` +
        `(${weightCount} weights and ${outDims} biases as float32).`,
    );
  }

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const weight = new Float32Array(weightCount);
  const bias = new Float32Array(outDims);
  for (let i = 0; i < weightCount; i++) weight[i] = view.getFloat32(i * 4, true);
  for (let o = 0; o < outDims; o++) bias[o] = view.getFloat32((weightCount + o) * 4, true);
  const bad = [...weight, ...bias].findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new Error(`Head file value ${bad} is not a finite number.`);
  return { version, inDims, outDims, weight, bias };
}

/**
 * Embeds `n` feature rows (`n * head.inDims` values, row-major) into `n * head.outDims` values,
 * each row scaled to unit L2 length; a row whose output is all zeros stays zero.
 * Throws a RangeError when `features` has the wrong length.
 */
export function applyHead(head: Head, features: Float32Array, n: number): Float32Array {
  const { inDims, outDims, weight, bias } = head;
  if (features.length !== n * inDims) {
    throw new RangeError(
      `applyHead got ${features.length} values for ${n} rows of ${inDims} features.`,
    );
  }

  const out = new Float32Array(n * outDims);
  const row = new Float64Array(outDims);
  for (let i = 0; i < n; i++) {
    const f = i * inDims;
    let norm = 0;
    for (let o = 0; o < outDims; o++) {
      const v = bias[o] + dotAt(weight, o * inDims, features, f, inDims);
      row[o] = v;
      norm += v * v;
    }
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    const at = i * outDims;
    for (let o = 0; o < outDims; o++) out[at + o] = row[o] * scale;
  }
  return out;
}

/** Dot product of `len` values of `a` from `offsetA` and `b` from `offsetB`, four at a time. */
function dotAt(a: Float32Array, offsetA: number, b: Float32Array, offsetB: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < len; k += 4) {
    s0 += a[offsetA + k] * b[offsetB + k];
    s1 += a[offsetA + k + 1] * b[offsetB + k + 1];
    s2 += a[offsetA + k + 2] * b[offsetB + k + 2];
    s3 += a[offsetA + k + 3] * b[offsetB + k + 3];
  }
  for (; k < len; k++) s0 += a[offsetA + k] * b[offsetB + k];
  return s0 + s1 + s2 + s3;
}

/**
 * Euclidean distance between the `dims` values of `a` starting at `offsetA` and those of `b`
 * starting at `offsetB` (offsets in values, not rows). For unit vectors it lies in [0, 2].
 */
export function euclidean(
  a: Float32Array,
  b: Float32Array,
  offsetA: number,
  offsetB: number,
  dims: number,
): number {
  let s0 = 0;
  let s1 = 0;
  let k = 0;
  for (; k + 1 < dims; k += 2) {
    const d0 = a[offsetA + k] - b[offsetB + k];
    const d1 = a[offsetA + k + 1] - b[offsetB + k + 1];
    s0 += d0 * d0;
    s1 += d1 * d1;
  }
  if (k < dims) {
    const d = a[offsetA + k] - b[offsetB + k];
    s0 += d * d;
  }
  return Math.sqrt(s0 + s1);
}
