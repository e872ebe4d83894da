/**
 * The head's matrix products on onnxruntime (graphs built in memory) against plain JavaScript,
 * and the generic-evaluation file format.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitHead, jsLinearOps, linearRows } from '../../src-main/core/triplet';
import {
  GENERIC_DATA_FILE,
  GENERIC_HEADER_FILE,
  decodeGenericRows,
  encodeGenericRows,
  loadGenericTriplets,
  writeGenericTriplets,
} from '../../src-main/engine/learn/generic-triplets';
import {
  backendLinearOps,
  createHeadBackend,
  embedRows,
  type HeadBackend,
} from '../../src-main/engine/ml/head-runner';
import { gaussian } from './learn-fixtures';

function randomArray(n: number, seed: number): Float32Array {
  const g = gaussian(seed);
  return Float32Array.from({ length: n }, g);
}

describe('head runner on onnxruntime', () => {
  let ort: HeadBackend;
  beforeAll(async () => {
    ort = await createHeadBackend();
  }, 30_000);
  afterAll(async () => {
    await ort.dispose();
  });

  it('runs on onnxruntime here', () => {
    expect(ort.name).toBe('onnxruntime');
  });

  it('computes X W^T + b like JavaScript', async () => {
    const head = {
      inDims: 37,
      outDims: 11,
      weight: randomArray(37 * 11, 1),
      bias: randomArray(11, 2),
    };
    const x = randomArray(5 * 37, 3);
    const fast = await ort.linear(head, x, 5);
    const slow = linearRows(head, x, 5);
    expect(fast).toHaveLength(55);
    fast.forEach((v, i) => expect(v).toBeCloseTo(slow[i], 4));
  });

  it('computes the weight gradient of a subset of rows like JavaScript', async () => {
    const x = randomArray(6 * 9, 4);
    const g = randomArray(2 * 3, 5);
    const rows = Int32Array.from([4, 1]);
    const fast = await backendLinearOps(ort, x, 6, 9).weightGradient(g, rows);
    const slow = jsLinearOps(x, 6).weightGradient(g, rows) as Float32Array;
    expect(fast).toHaveLength(27);
    fast.forEach((v, i) => expect(v).toBeCloseTo(slow[i], 4));
  });

  it('embeds rows to unit length and keeps a zero row zero', async () => {
    const head = {
      version: 'h',
      inDims: 4,
      outDims: 3,
      weight: randomArray(12, 6),
      bias: new Float32Array(3),
    };
    const x = Float32Array.from([1, 2, 3, 4, 0, 0, 0, 0]);
    const y = await embedRows(ort, head, x, 2);
    expect(Math.hypot(y[0], y[1], y[2])).toBeCloseTo(1, 6);
    expect(Array.from(y.subarray(3))).toEqual([0, 0, 0]);
  });

  it('trains to the same head through onnxruntime as through JavaScript', async () => {
    const anchor = {
      inDims: 12,
      outDims: 5,
      weight: randomArray(60, 7),
      bias: new Float32Array(5),
    };
    const x = randomArray(9 * 12, 8);
    const set = {
      features: x,
      rows: 9,
      inDims: 12,
      query: Int32Array.from([0, 3, 6, 1]),
      better: Int32Array.from([1, 4, 7, 2]),
      worse: Int32Array.from([2, 5, 8, 0]),
      weight: Float32Array.from([1, 1, 0.5, 1]),
    };
    const opts = {
      margin: 0.3,
      virtualDistance: 1,
      lambda: 0.01,
      anchor,
      steps: 40,
      learningRate: 0.01,
    };
    const viaOrt = await fitHead(anchor, set, { ...opts, linear: backendLinearOps(ort, x, 9, 12) });
    const viaJs = await fitHead(anchor, set, opts);
    expect(viaOrt.loss).toBeCloseTo(viaJs.loss, 4);
    viaOrt.params.weight.forEach((w, i) => expect(w).toBeCloseTo(viaJs.params.weight[i], 3));
  });
});

describe('generic evaluation file', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'doppel-generic-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('quantises each row to int8 within half a step of its scale', () => {
    const rows = randomArray(4 * 50, 9);
    const { features, rows: n } = decodeGenericRows(encodeGenericRows(rows, 4, 50), 50);
    expect(n).toBe(4);
    for (let r = 0; r < 4; r++) {
      const max = Math.max(...Array.from(rows.subarray(r * 50, r * 50 + 50), Math.abs));
      for (let k = 0; k < 50; k++) {
        expect(Math.abs(features[r * 50 + k] - rows[r * 50 + k])).toBeLessThanOrEqual(
          max / 254 + 1e-6,
        );
      }
    }
  });

  it('keeps 200 triplets of 1,500 features under 1.5 MB', () => {
    expect(encodeGenericRows(new Float32Array(600 * 1500), 600, 1500).length).toBeLessThan(1.5e6);
  });

  it('writes a header and data that load back as triplets, and refuses another network or a damaged file', () => {
    const rows = randomArray(3 * 2 * 8, 10);
    writeGenericTriplets(dir, 'net-a', rows, 2, 8, { note: 'test' });
    const loaded = loadGenericTriplets(dir, 'net-a', 8);
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    expect(loaded.header).toMatchObject({
      count: 2,
      dims: 8,
      networkVersion: 'net-a',
      file: GENERIC_DATA_FILE,
    });
    expect(Array.from(loaded.set.query)).toEqual([0, 3]);
    expect(Array.from(loaded.set.better)).toEqual([1, 4]);
    expect(Array.from(loaded.set.worse)).toEqual([2, 5]);

    expect(loadGenericTriplets(dir, 'net-b', 8)).toEqual({
      ok: false,
      reason: 'the generic evaluation set was made for network net-a (8 features), not net-b (8)',
    });
    const data = path.join(dir, GENERIC_DATA_FILE);
    const bytes = fs.readFileSync(data);
    bytes[10] ^= 0xff;
    fs.writeFileSync(data, bytes);
    expect(loadGenericTriplets(dir, 'net-a', 8)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/does not match its header/),
    });
    fs.rmSync(path.join(dir, GENERIC_HEADER_FILE));
    expect(loadGenericTriplets(dir, 'net-a', 8)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/ships no generic evaluation set/),
    });
  });
});
