import { describe, expect, it } from 'vitest';
import { toInputTensor } from '../../src-main/core/preprocess';

const MEAN: [number, number, number] = [0.5, 0.25, 0];
const STD: [number, number, number] = [0.5, 0.25, 2];

describe('toInputTensor', () => {
  it('packs interleaved RGB into NCHW planes, normalised per channel', () => {
    // A 2x2 image: pixels (R,G,B) = (0,0,0) (255,255,255) (51,102,204) (255,0,51).
    const rgb = Buffer.from([0, 0, 0, 255, 255, 255, 51, 102, 204, 255, 0, 51]);
    const out = toInputTensor([rgb], 2, MEAN, STD);
    const expected = [
      // R: (v/255 - 0.5) / 0.5
      -1, 1, -0.6, 1,
      // G: (v/255 - 0.25) / 0.25
      -1, 3, 0.6, -1,
      // B: (v/255 - 0) / 2
      0, 0.5, 0.4, 0.1,
    ];
    expect(out.length).toBe(12);
    Array.from(out).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
  });

  it('places each image of a batch after the previous one', () => {
    const black = Buffer.alloc(3 * 3 * 3, 0);
    const white = Buffer.alloc(3 * 3 * 3, 255);
    const out = toInputTensor([black, white], 3, [0, 0, 0], [1, 1, 1]);
    expect(out.length).toBe(2 * 27);
    expect(Array.from(out.subarray(0, 27)).every((v) => v === 0)).toBe(true);
    expect(Array.from(out.subarray(27)).every((v) => v === 1)).toBe(true);
  });

  it('returns an empty tensor for an empty batch', () => {
    expect(toInputTensor([], 4, MEAN, STD).length).toBe(0);
  });

  it('refuses a buffer of the wrong size and a zero std', () => {
    expect(() => toInputTensor([Buffer.alloc(11)], 2, MEAN, STD)).toThrow(
      'Input 0 has 11 bytes; a 2x2 RGB image has 12.',
    );
    expect(() => toInputTensor([Buffer.alloc(12)], 2, MEAN, [1, 0, 1])).toThrow(
      /Channel 1 std is 0/,
    );
  });
});
