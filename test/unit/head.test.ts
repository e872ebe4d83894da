import { describe, expect, it } from 'vitest';
import { applyHead, euclidean, parseHead, type Head } from '../../src-main/core/head';

/** Little-endian float32 bytes of `values`. */
function f32le(values: number[]): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return bytes;
}

/** A 3 -> 2 head: rows [1, 0, 2] and [0, -1, 1], biases [1, 0]. */
const HEAD_VALUES = [1, 0, 2, 0, -1, 1, 1, 0];

describe('parseHead', () => {
  it('reads row-major weights then biases, little-endian', () => {
    const head = parseHead(f32le(HEAD_VALUES), 3, 2, 'h1');
    expect(head.version).toBe('h1');
    expect([head.inDims, head.outDims]).toEqual([3, 2]);
    expect(Array.from(head.weight)).toEqual([1, 0, 2, 0, -1, 1]);
    expect(Array.from(head.bias)).toEqual([1, 0]);
  });

  it('reads from a view that does not start at offset 0', () => {
    const padded = new Uint8Array(3 + 32);
    padded.set(f32le(HEAD_VALUES), 3);
    const head = parseHead(padded.subarray(3), 3, 2, 'h1');
    expect(Array.from(head.weight)).toEqual([1, 0, 2, 0, -1, 1]);
  });

  it('says what length it expected when the file is the wrong size', () => {
    expect(() => parseHead(f32le(HEAD_VALUES.slice(1)), 3, 2, 'h1')).toThrow(
      'Head file has 28 bytes; a 3 -> 2 head needs 32 (6 weights and 2 biases as float32).',
    );
  });

  it('refuses a value that is not finite', () => {
    const values = [...HEAD_VALUES];
    values[4] = Number.NaN;
    expect(() => parseHead(f32le(values), 3, 2, 'h1')).toThrow(
      'Head file value 4 is not a finite number.',
    );
  });
});

describe('applyHead', () => {
  const head = parseHead(f32le(HEAD_VALUES), 3, 2, 'h1');

  it('computes W x + b for each row and scales it to unit length', () => {
    // Row 1: x = [1, 2, 3] -> [1 + 0 + 6 + 1, -2 + 3 + 0] = [8, 1] -> / sqrt(65).
    // Row 2: x = [0, 3, 0] -> [0 + 1, -3] = [1, -3] -> / sqrt(10).
    const out = applyHead(head, new Float32Array([1, 2, 3, 0, 3, 0]), 2);
    const expected = [8 / Math.sqrt(65), 1 / Math.sqrt(65), 1 / Math.sqrt(10), -3 / Math.sqrt(10)];
    expect(out.length).toBe(4);
    Array.from(out).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
  });

  it('leaves a row whose output is all zeros at zero instead of NaN', () => {
    // x = [-1, 0, 0] -> [-1 + 1, 0] = [0, 0].
    expect(Array.from(applyHead(head, new Float32Array([-1, 0, 0]), 1))).toEqual([0, 0]);
  });

  it('handles dims that are not a multiple of four', () => {
    const wide: Head = {
      version: 'w',
      inDims: 7,
      outDims: 1,
      weight: new Float32Array([1, 2, 3, 4, 5, 6, 7]),
      bias: new Float32Array([0]),
    };
    const x = new Float32Array([1, 1, 1, 1, 1, 1, -1]);
    // 1 + 2 + 3 + 4 + 5 + 6 - 7 = 14, normalised to 1.
    expect(Array.from(applyHead(wide, x, 1))).toEqual([1]);
    const negative = applyHead(wide, new Float32Array([0, 0, 0, 0, 0, 0, -1]), 1);
    expect(Array.from(negative)).toEqual([-1]);
  });

  it('gives each row the same result in a batch as alone (rows are done four at a time)', () => {
    const rows = 6;
    const x = new Float32Array(rows * 3).map((_, i) => ((i * 7) % 5) - 2);
    const batch = applyHead(head, x, rows);
    for (let r = 0; r < rows; r++) {
      const alone = applyHead(head, x.slice(r * 3, r * 3 + 3), 1);
      expect(Array.from(batch.subarray(r * 2, r * 2 + 2))).toEqual(Array.from(alone));
    }
    // Row 4, x = [2, -1, 1]: [2 + 0 + 2 + 1, 0 + 1 + 1 + 0] = [5, 2] -> / sqrt(29).
    expect(batch[8]).toBeCloseTo(5 / Math.sqrt(29), 6);
    expect(batch[9]).toBeCloseTo(2 / Math.sqrt(29), 6);
  });

  it('refuses features of the wrong length', () => {
    expect(() => applyHead(head, new Float32Array(5), 2)).toThrow(
      'applyHead got 5 values for 2 rows of 3 features.',
    );
  });
});

describe('euclidean', () => {
  it('measures the distance between rows at the given offsets', () => {
    const a = new Float32Array([9, 0, 0, 0, 9]);
    const b = new Float32Array([3, 4, 0, 9]);
    // a[1..4) = [0, 0, 0], b[0..3) = [3, 4, 0] -> 5.
    expect(euclidean(a, b, 1, 0, 3)).toBe(5);
    // a[0..2) = [9, 0], b[2..4) = [0, 9] -> sqrt(162).
    expect(euclidean(a, b, 0, 2, 2)).toBeCloseTo(Math.sqrt(162), 10);
    expect(euclidean(a, a, 0, 0, 5)).toBe(0);
  });

  it('is 2 between opposite unit vectors and sqrt 2 between orthogonal ones', () => {
    const v = new Float32Array([1, 0, 0, -1, 0, 0, 0, 1, 0]);
    expect(euclidean(v, v, 0, 3, 3)).toBe(2);
    expect(euclidean(v, v, 0, 6, 3)).toBeCloseTo(Math.SQRT2, 10);
  });
});
