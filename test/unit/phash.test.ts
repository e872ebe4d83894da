import { describe, expect, it } from 'vitest';
import {
  blockDistance,
  blockSimilarity,
  colourBlocks,
  dHash,
  DHASH_HEIGHT,
  DHASH_WIDTH,
  hammingDistance,
  pHash,
  PHASH_SIDE,
  toGrey,
} from '../../src-main/core/phash';

type Pattern = (x: number, y: number) => number;

/** A smooth scene on the unit square: two blobs on a tilted gradient. */
const scene: Pattern = (x, y) =>
  60 +
  80 * x +
  40 * y +
  90 * Math.exp(-((x - 0.3) ** 2 + (y - 0.35) ** 2) / 0.02) -
  70 * Math.exp(-((x - 0.7) ** 2 + (y - 0.7) ** 2) / 0.03);

/** An unrelated scene: stripes and a blob elsewhere. */
const otherScene: Pattern = (x, y) =>
  128 + 70 * Math.sin(9 * x + 2 * y) + 50 * Math.exp(-((x - 0.8) ** 2 + (y - 0.2) ** 2) / 0.01);

/** Samples a pattern at pixel centres into a width x height grey image. */
function render(pattern: Pattern, width: number, height: number): Float64Array {
  const out = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++)
      out[y * width + x] = pattern((x + 0.5) / width, (y + 0.5) / height);
  }
  return out;
}

/** Area-averaging resize of a grey image (each output pixel is the mean of the area it covers). */
function resizeArea(
  src: Float64Array,
  w: number,
  h: number,
  outW: number,
  outH: number,
): Float64Array {
  const out = new Float64Array(outW * outH);
  const sx = w / outW;
  const sy = h / outH;
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      let sum = 0;
      let weight = 0;
      for (let y = Math.floor(oy * sy); y < Math.ceil((oy + 1) * sy); y++) {
        const wy = Math.min(y + 1, (oy + 1) * sy) - Math.max(y, oy * sy);
        for (let x = Math.floor(ox * sx); x < Math.ceil((ox + 1) * sx); x++) {
          const wx = Math.min(x + 1, (ox + 1) * sx) - Math.max(x, ox * sx);
          sum += src[y * w + x] * wx * wy;
          weight += wx * wy;
        }
      }
      out[oy * outW + ox] = sum / weight;
    }
  }
  return out;
}

function hashesOf(grey: Float64Array, w: number, h: number): { p: bigint; d: bigint } {
  return {
    p: pHash(resizeArea(grey, w, h, PHASH_SIDE, PHASH_SIDE)),
    d: dHash(resizeArea(grey, w, h, DHASH_WIDTH, DHASH_HEIGHT)),
  };
}

describe('pHash', () => {
  it('sets only the DC bit for a flat grey image and no bit for a black one', () => {
    expect(pHash(new Float64Array(PHASH_SIDE * PHASH_SIDE).fill(128))).toBe(1n << 63n);
    expect(pHash(new Float64Array(PHASH_SIDE * PHASH_SIDE))).toBe(0n);
  });

  it('sets about half of the bits for a textured image', () => {
    const hash = pHash(render(otherScene, PHASH_SIDE, PHASH_SIDE));
    const ones = hammingDistance(hash, 0n);
    expect(ones).toBeGreaterThanOrEqual(24);
    expect(ones).toBeLessThanOrEqual(40);
  });

  it('refuses an input that is not 32x32', () => {
    expect(() => pHash(new Float64Array(100))).toThrow(RangeError);
  });
});

describe('dHash', () => {
  it('sets every bit for a gradient brightening to the right and none for the mirror', () => {
    expect(dHash(render((x) => 255 * x, DHASH_WIDTH, DHASH_HEIGHT))).toBe((1n << 64n) - 1n);
    expect(dHash(render((x) => 255 * (1 - x), DHASH_WIDTH, DHASH_HEIGHT))).toBe(0n);
  });

  it('refuses an input that is not 9x8', () => {
    expect(() => dHash(new Float64Array(64))).toThrow(RangeError);
  });
});

describe('hash distances between copies', () => {
  const original = hashesOf(render(scene, 320, 240), 320, 240);
  const halfSize = hashesOf(render(scene, 160, 120), 160, 120);
  const unrelated = hashesOf(render(otherScene, 320, 240), 320, 240);

  it('keeps pHash and dHash within a few bits for a resized copy', () => {
    expect(hammingDistance(original.p, halfSize.p)).toBeLessThanOrEqual(4);
    expect(hammingDistance(original.d, halfSize.d)).toBeLessThanOrEqual(4);
  });

  it('puts an unrelated pattern far away', () => {
    expect(hammingDistance(original.p, unrelated.p)).toBeGreaterThanOrEqual(16);
    expect(hammingDistance(original.d, unrelated.d)).toBeGreaterThanOrEqual(16);
  });
});

describe('hammingDistance', () => {
  it('counts differing bits across the whole 64-bit range', () => {
    expect(hammingDistance(0n, (1n << 64n) - 1n)).toBe(64);
    expect(hammingDistance(1n << 63n, 1n)).toBe(2);
    expect(hammingDistance(0xf0n, 0x0fn)).toBe(8);
    expect(hammingDistance(123456789n, 123456789n)).toBe(0);
  });
});

describe('colour blocks', () => {
  function flatRgb(width: number, height: number, rgb: [number, number, number]): Uint8Array {
    const out = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) out.set(rgb, i * 3);
    return out;
  }

  function noiseRgb(width: number, height: number, seed: number): Uint8Array {
    const out = new Uint8Array(width * height * 3);
    let state = seed;
    for (let i = 0; i < out.length; i++) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      out[i] = state >>> 24;
    }
    return out;
  }

  it('gives each block the mean colour of its area', () => {
    const blocks = colourBlocks(flatRgb(45, 30, [10, 20, 30]), 45, 30, 3);
    expect(blocks.length).toBe(15 * 15 * 3);
    expect(Array.from(blocks.subarray(0, 6))).toEqual([10, 20, 30, 10, 20, 30]);
  });

  it('reads grey pixels as equal R, G and B', () => {
    const grey = new Uint8Array(30 * 30).fill(77);
    expect(Array.from(colourBlocks(grey, 30, 30, 1).subarray(-3))).toEqual([77, 77, 77]);
  });

  it('is zero on identical input and symmetric otherwise', () => {
    const a = colourBlocks(noiseRgb(60, 45, 1), 60, 45, 3);
    const b = colourBlocks(noiseRgb(60, 45, 2), 60, 45, 3);
    expect(blockDistance(a, Float64Array.from(a))).toBe(0);
    expect(blockDistance(a, b)).toBeGreaterThan(0);
    expect(blockDistance(a, b)).toBe(blockDistance(b, a));
  });

  it('sums the channel differences of every block', () => {
    const a = colourBlocks(flatRgb(30, 30, [100, 100, 100]), 30, 30, 3);
    const b = colourBlocks(flatRgb(30, 30, [110, 95, 100]), 30, 30, 3);
    expect(blockDistance(a, b)).toBe(15);
    expect(blockSimilarity(15)).toBe(85);
    expect(blockSimilarity(5.9)).toBe(95);
    expect(blockSimilarity(6)).toBe(94);
  });

  it('keeps a half-size copy within a fraction of a level, at sizes 15 does not divide', () => {
    const toRgb = (grey: Float64Array): Float64Array => {
      const rgb = new Float64Array(grey.length * 3);
      grey.forEach((v, i) => rgb.set([v, 255 - v, v / 2], i * 3));
      return rgb;
    };
    const full = toRgb(render(scene, 386, 218));
    const half = toRgb(resizeArea(render(scene, 386, 218), 386, 218, 193, 109));
    const unrelated = toRgb(render(otherScene, 386, 218));
    const original = colourBlocks(full, 386, 218, 3);
    expect(blockDistance(original, colourBlocks(half, 193, 109, 3))).toBeLessThan(0.5);
    expect(blockDistance(original, colourBlocks(unrelated, 386, 218, 3))).toBeGreaterThan(30);
  });

  it('refuses block lists of different sizes', () => {
    expect(() => blockDistance(new Float64Array(6), new Float64Array(9))).toThrow(RangeError);
  });
});

describe('toGrey', () => {
  it('weights RGB by BT.601 luma and passes grey through', () => {
    expect(Array.from(toGrey([255, 0, 0, 0, 255, 0], 3)).map((v) => Math.round(v))).toEqual([
      76, 150,
    ]);
    expect(Array.from(toGrey([9, 255, 7, 0], 2))).toEqual([9, 7]);
    expect(() => toGrey([1, 2, 3, 4], 3)).toThrow(RangeError);
  });
});
