import { describe, expect, it } from 'vitest';
import { viewOf } from '../../src-main/core/views';
import { VIEW_NAMES } from '../../src-main/core/model-card';

/**
 * A 3x3 image whose pixel at row y, column x is (10y + x, 100 + 10y + x, 200 + x), written as
 * the grid of its red values for readability.
 */
function grid(): Buffer {
  const out = Buffer.alloc(27);
  for (let y = 0; y < 3; y++) {
    for (let x = 0; x < 3; x++) {
      const i = (y * 3 + x) * 3;
      out[i] = 10 * y + x;
      out[i + 1] = 100 + 10 * y + x;
      out[i + 2] = 200 + x;
    }
  }
  return out;
}

/** The red channel as rows, to compare against hand-drawn grids. */
function reds(rgb: Buffer): number[][] {
  return [0, 1, 2].map((y) => [0, 1, 2].map((x) => rgb[(y * 3 + x) * 3]));
}

describe('viewOf', () => {
  const src = grid();
  // Red values of the source:
  //  0  1  2
  // 10 11 12
  // 20 21 22

  it('identity returns the same pixels', () => {
    expect(viewOf(src, 3, 'identity')).toBe(src);
  });

  it('mirror flips left and right', () => {
    expect(reds(viewOf(src, 3, 'mirror'))).toEqual([
      [2, 1, 0],
      [12, 11, 10],
      [22, 21, 20],
    ]);
  });

  it('rot90 turns the picture a quarter clockwise', () => {
    expect(reds(viewOf(src, 3, 'rot90'))).toEqual([
      [20, 10, 0],
      [21, 11, 1],
      [22, 12, 2],
    ]);
  });

  it('rot180 turns it upside down', () => {
    expect(reds(viewOf(src, 3, 'rot180'))).toEqual([
      [22, 21, 20],
      [12, 11, 10],
      [2, 1, 0],
    ]);
  });

  it('rot270 turns it a quarter anticlockwise', () => {
    expect(reds(viewOf(src, 3, 'rot270'))).toEqual([
      [2, 12, 22],
      [1, 11, 21],
      [0, 10, 20],
    ]);
  });

  it('moves whole pixels: all three channels travel together', () => {
    const out = viewOf(src, 3, 'rot90');
    // Output (x=0, y=0) shows input (x=0, y=2): red 20, green 120, blue 200.
    expect([...out.subarray(0, 3)]).toEqual([20, 120, 200]);
    // Output (x=2, y=1) shows input (x=1, y=0): red 1, green 101, blue 201.
    expect([...out.subarray(15, 18)]).toEqual([1, 101, 201]);
  });

  it('composes like rotations: four quarter turns, or two mirrors, give the original', () => {
    let r = src;
    for (let i = 0; i < 4; i++) r = viewOf(r, 3, 'rot90');
    expect(r.equals(src)).toBe(true);
    expect(viewOf(viewOf(src, 3, 'mirror'), 3, 'mirror').equals(src)).toBe(true);
    expect(viewOf(viewOf(src, 3, 'rot90'), 3, 'rot180').equals(viewOf(src, 3, 'rot270'))).toBe(
      true,
    );
  });

  it('never modifies its input', () => {
    const copy = Buffer.from(src);
    for (const view of VIEW_NAMES) viewOf(src, 3, view);
    expect(src.equals(copy)).toBe(true);
  });

  it('refuses a buffer that is not size x size RGB', () => {
    expect(() => viewOf(Buffer.alloc(26), 3, 'mirror')).toThrow(
      'View input has 26 bytes; a 3x3 RGB image has 27.',
    );
  });
});
