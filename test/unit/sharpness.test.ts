import { describe, expect, it } from 'vitest';
import { sharpnessOf } from '../../src-main/core/sharpness';

const SIZE = 32;

/** A black-and-white checkerboard of `cell` pixel squares. */
function checkerboard(cell: number): Uint8Array {
  const rgb = new Uint8Array(SIZE * SIZE * 3);
  for (let y = 0; y < SIZE; y++)
    for (let x = 0; x < SIZE; x++) {
      const v = (Math.floor(x / cell) + Math.floor(y / cell)) % 2 ? 255 : 0;
      rgb.fill(v, 3 * (y * SIZE + x), 3 * (y * SIZE + x) + 3);
    }
  return rgb;
}

/** A 3x3 box blur of every channel (edges clamped). */
function boxBlur(rgb: Uint8Array): Uint8Array {
  const out = new Uint8Array(rgb.length);
  for (let y = 0; y < SIZE; y++)
    for (let x = 0; x < SIZE; x++)
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let dy = -1; dy <= 1; dy++)
          for (let dx = -1; dx <= 1; dx++) {
            const yy = Math.min(SIZE - 1, Math.max(0, y + dy));
            const xx = Math.min(SIZE - 1, Math.max(0, x + dx));
            sum += rgb[3 * (yy * SIZE + xx) + c];
          }
        out[3 * (y * SIZE + x) + c] = Math.round(sum / 9);
      }
  return out;
}

describe('sharpnessOf', () => {
  it('is 0 for a flat image', () => {
    expect(sharpnessOf(new Uint8Array(SIZE * SIZE * 3).fill(128), SIZE)).toBe(0);
  });

  it('scores a blurred copy below its original, and a twice-blurred copy lower still', () => {
    const sharp = checkerboard(4);
    const once = boxBlur(sharp);
    const twice = boxBlur(once);
    expect(sharpnessOf(sharp, SIZE)).toBeGreaterThan(sharpnessOf(once, SIZE));
    expect(sharpnessOf(once, SIZE)).toBeGreaterThan(sharpnessOf(twice, SIZE));
  });

  it('matches a hand-computed value: one bright pixel on black', () => {
    const rgb = new Uint8Array(3 * 3 * 3);
    rgb.fill(100, 12, 15); // centre pixel, luma 100
    // Only the centre is an interior pixel: Laplacian -400, one value, variance 0.
    expect(sharpnessOf(rgb, 3)).toBe(0);
    const big = new Uint8Array(4 * 4 * 3);
    big.fill(100, 3 * 5, 3 * 5 + 3); // pixel (1,1)
    // Interior pixels (1,1),(2,1),(1,2),(2,2): Laplacians -400, 100, 100, 0 -> mean -50,
    // mean of squares (160000 + 10000 + 10000) / 4 = 45000, variance 45000 - 2500 = 42500.
    expect(sharpnessOf(big, 4)).toBeCloseTo(42500, 1);
  });

  it('refuses pixels of the wrong size', () => {
    expect(() => sharpnessOf(new Uint8Array(10), SIZE)).toThrow(RangeError);
  });
});
