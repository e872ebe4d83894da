/**
 * Perceptual-hash maths for the baselines the model is measured against: pHash, dHash and a
 * dupeGuru-like comparison of 15x15 colour blocks. Pure functions over pixel arrays; callers
 * resize the photo first (32x32 grey for pHash, 9x8 grey for dHash, any size for blocks).
 */

/** Side of the grey square pHash works on. */
export const PHASH_SIDE = 32;
/** Side of the low-frequency DCT square kept by pHash (8 x 8 = 64 bits). */
const PHASH_LOW = 8;
/** dHash input: 9 columns so each of the 8 rows yields 8 left/right comparisons. */
export const DHASH_WIDTH = 9;
export const DHASH_HEIGHT = 8;
/** Blocks per side in dupeGuru's picture mode. */
export const BLOCKS_PER_SIDE = 15;

/**
 * Below this a DCT coefficient counts as equal to the median: a flat image's AC coefficients are
 * rounding noise (around 1e-12) and must not set random bits.
 */
const DCT_TIE_EPSILON = 1e-6;

/**
 * Grey levels (0-255, ITU-R BT.601 luma, as most hashing libraries use) of interleaved pixels
 * with `channels` values each (1 = grey, 2 = grey+alpha, 3 = RGB, 4 = RGBA; alpha is ignored).
 * Throws a RangeError when the buffer length is not a multiple of `channels`.
 */
export function toGrey(pixels: ArrayLike<number>, channels: number): Float64Array {
  checkChannels(pixels.length, channels);
  const count = pixels.length / channels;
  const grey = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const at = i * channels;
    grey[i] =
      channels < 3
        ? pixels[at]
        : 0.299 * pixels[at] + 0.587 * pixels[at + 1] + 0.114 * pixels[at + 2];
  }
  return grey;
}

/**
 * The 64-bit pHash of a 32x32 grey image (row-major, 1024 values): the 8x8 lowest frequencies of
 * its 2-D DCT-II, one bit per coefficient (row-major, first coefficient in the highest bit), set
 * when the coefficient exceeds their median. Throws a RangeError for any other input length.
 */
export function pHash(grey: ArrayLike<number>): bigint {
  if (grey.length !== PHASH_SIDE * PHASH_SIDE) {
    throw new RangeError(`pHash needs ${PHASH_SIDE * PHASH_SIDE} grey values, got ${grey.length}`);
  }
  const low = lowFrequencies(grey);
  const median = medianOf(low);
  let hash = 0n;
  for (const coefficient of low) {
    hash = (hash << 1n) | (coefficient - median > DCT_TIE_EPSILON ? 1n : 0n);
  }
  return hash;
}

/**
 * The 64-bit dHash of a 9-wide, 8-high grey image (row-major, 72 values): one bit per horizontal
 * neighbour pair, set when the right pixel is brighter, first pair in the highest bit.
 * Throws a RangeError for any other input length.
 */
export function dHash(grey: ArrayLike<number>): bigint {
  if (grey.length !== DHASH_WIDTH * DHASH_HEIGHT) {
    throw new RangeError(
      `dHash needs ${DHASH_WIDTH * DHASH_HEIGHT} grey values, got ${grey.length}`,
    );
  }
  let hash = 0n;
  for (let y = 0; y < DHASH_HEIGHT; y++) {
    for (let x = 0; x < DHASH_WIDTH - 1; x++) {
      const left = grey[y * DHASH_WIDTH + x];
      const right = grey[y * DHASH_WIDTH + x + 1];
      hash = (hash << 1n) | (right > left ? 1n : 0n);
    }
  }
  return hash;
}

/** Number of differing bits between two 64-bit hashes (0-64). */
export function hammingDistance(a: bigint, b: bigint): number {
  const diff = BigInt.asUintN(64, a ^ b);
  return popCount32(Number(diff & 0xffffffffn)) + popCount32(Number(diff >> 32n));
}

/**
 * dupeGuru-like colour blocks: the image (row-major, `channels` values per pixel, RGB first) cut
 * into `perSide` x `perSide` blocks proportional to its shape, each block's mean R, G and B.
 * Returns perSide*perSide*3 values in 0-255. Grey input is repeated into the three channels.
 * Throws a RangeError when the buffer does not hold width*height pixels.
 */
export function colourBlocks(
  pixels: ArrayLike<number>,
  width: number,
  height: number,
  channels: number,
  perSide: number = BLOCKS_PER_SIDE,
): Float64Array {
  checkChannels(pixels.length, channels);
  if (pixels.length !== width * height * channels || width < 1 || height < 1) {
    throw new RangeError(`colourBlocks: ${pixels.length} values do not make ${width}x${height}`);
  }
  // dupeGuru truncates the block size and leaves the remainder out, so a photo and its resized
  // copy cover different areas; here block edges fall between pixels, which count by the share
  // of them a block covers.
  const columns = coverage(width, perSide);
  const rows = coverage(height, perSide);
  const sums = new Float64Array(perSide * perSide * 3);
  for (let y = 0; y < height; y++) {
    for (const [by, wy] of rows[y]) {
      for (let x = 0; x < width; x++) {
        const at = (y * width + x) * channels;
        const r = pixels[at];
        const g = channels < 3 ? r : pixels[at + 1];
        const b = channels < 3 ? r : pixels[at + 2];
        for (const [bx, wx] of columns[x]) {
          const block = (by * perSide + bx) * 3;
          const w = wx * wy;
          sums[block] += r * w;
          sums[block + 1] += g * w;
          sums[block + 2] += b * w;
        }
      }
    }
  }
  const area = (width / perSide) * (height / perSide);
  return sums.map((sum) => sum / area);
}

/** For each pixel along a side of `length`, the blocks it falls in and the share in each. */
function coverage(length: number, blocks: number): [number, number][][] {
  const size = length / blocks;
  const out: [number, number][][] = [];
  for (let i = 0; i < length; i++) {
    const first = Math.floor(i / size);
    const last = Math.min(blocks - 1, Math.floor((i + 1) / size - 1e-9));
    const spans: [number, number][] = [];
    for (let block = first; block <= last; block++) {
      const share = Math.min(i + 1, (block + 1) * size) - Math.max(i, block * size);
      if (share > 1e-12) spans.push([block, share]);
    }
    out.push(spans);
  }
  return out;
}

/**
 * Mean over blocks of |dR| + |dG| + |dB| between two block lists from colourBlocks (0-765; 0 for
 * identical input). Symmetric. Throws a RangeError when the lists differ in length or are empty.
 */
export function blockDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length || a.length === 0 || a.length % 3 !== 0) {
    throw new RangeError(`blockDistance: block lists of ${a.length} and ${b.length} values`);
  }
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / (a.length / 3);
}

/**
 * dupeGuru's similarity percentage for a block distance: 100 minus its integer part (never below
 * 0). dupeGuru's default filter hardness of 95 matches pictures whose distance is below 6.
 */
export function blockSimilarity(distance: number): number {
  return Math.max(0, 100 - Math.floor(distance));
}

function lowFrequencies(grey: ArrayLike<number>): Float64Array {
  const n = PHASH_SIDE;
  const cos = dctCosines();
  // Separable DCT-II, only the rows and columns we keep: first along x, then along y.
  const alongX = new Float64Array(n * PHASH_LOW);
  for (let y = 0; y < n; y++) {
    for (let u = 0; u < PHASH_LOW; u++) {
      let sum = 0;
      for (let x = 0; x < n; x++) sum += grey[y * n + x] * cos[u * n + x];
      alongX[y * PHASH_LOW + u] = sum;
    }
  }
  const low = new Float64Array(PHASH_LOW * PHASH_LOW);
  for (let v = 0; v < PHASH_LOW; v++) {
    for (let u = 0; u < PHASH_LOW; u++) {
      let sum = 0;
      for (let y = 0; y < n; y++) sum += alongX[y * PHASH_LOW + u] * cos[v * n + y];
      low[v * PHASH_LOW + u] = sum;
    }
  }
  return low;
}

let cosineTable: Float64Array | undefined;

function dctCosines(): Float64Array {
  if (cosineTable) return cosineTable;
  const n = PHASH_SIDE;
  cosineTable = new Float64Array(PHASH_LOW * n);
  for (let k = 0; k < PHASH_LOW; k++) {
    for (let i = 0; i < n; i++)
      cosineTable[k * n + i] = Math.cos((Math.PI * (2 * i + 1) * k) / (2 * n));
  }
  return cosineTable;
}

function medianOf(values: Float64Array): number {
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 0 ? (sorted[mid - 1] + sorted[mid]) / 2 : sorted[mid];
}

function checkChannels(length: number, channels: number): void {
  if (!Number.isInteger(channels) || channels < 1 || channels > 4 || length % channels !== 0) {
    throw new RangeError(`${length} values cannot be pixels of ${channels} channels (1-4)`);
  }
}

/** Number of set bits in the low 32 bits of an integer (for callers that pack hashes in words). */
export function popCount32(value: number): number {
  let v = value >>> 0;
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}
