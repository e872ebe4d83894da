import { describe, expect, it } from 'vitest';
import { hasWasmSimd, sketchDistances } from '../../src-main/core/neighbor-index';
import {
  findNeighbors,
  findPairsWithin,
  listViews,
  photoDistance,
  type PairGraph,
  type VectorSet,
} from '../../src-main/core/neighbors';
import { makeSyntheticEmbeddings } from '../bench/grouping.bench';

function pairSet(graph: PairGraph): Set<string> {
  const out = new Set<string>();
  for (let a = 0; a < graph.count; a++) {
    for (let p = graph.offsets[a]; p < graph.offsets[a + 1]; p++) {
      if (graph.neighbors[p] > a) out.add(`${a}-${graph.neighbors[p]}`);
    }
  }
  return out;
}

/** Share of `truth` pairs present in `found`. */
function recall(truth: Set<string>, found: Set<string>): number {
  let hits = 0;
  for (const pair of truth) if (found.has(pair)) hits++;
  return truth.size ? hits / truth.size : 1;
}

describe('the sketch distance kernel', () => {
  it('WebAssembly SIMD kernel agrees with plain arithmetic', () => {
    if (!hasWasmSimd()) {
      console.warn('skipped: this runtime has no WebAssembly SIMD (the JavaScript kernel is used)');
      return;
    }
    let state = 12345;
    const next = (): number => ((state = (state * 1103515245 + 12345) >>> 0) % 255) - 127;
    const width = 48;
    const query = Int8Array.from({ length: width }, next);
    const rows = Int8Array.from({ length: width * 300 }, next);
    rows.fill(127, 0, width); // extremes: the largest possible differences
    query.fill(-127, 0, 16);
    const expected = Array.from({ length: 300 }, (_, r) =>
      query.reduce((s, q, k) => s + (q - rows[r * width + k]) ** 2, 0),
    );
    expect(Array.from(sketchDistances(query, rows, width, true))).toEqual(expected);
    expect(Array.from(sketchDistances(query, rows, width, false))).toEqual(expected);
  });
});

describe('the approximate index', () => {
  const { set } = makeSyntheticEmbeddings(2500, { dims: 32, seed: 5 });
  const radius = 0.8;
  const exact = findPairsWithin(set, radius, { strategy: 'exact' });
  const indexed = findPairsWithin(set, radius, { strategy: 'index' });

  it('finds nearly every pair within the radius on clustered data', () => {
    const truth = pairSet(exact);
    expect(truth.size).toBeGreaterThan(1000);
    expect(recall(truth, pairSet(indexed))).toBeGreaterThan(0.98);
  });

  it('never reports a pair beyond the radius, and reports exact distances', () => {
    const views = listViews(set);
    for (let a = 0; a < indexed.count; a++) {
      for (let p = indexed.offsets[a]; p < indexed.offsets[a + 1]; p++) {
        const d = photoDistance(set, a, indexed.neighbors[p], views);
        expect(indexed.distances[p]).toBeCloseTo(d, 6);
        expect(d).toBeLessThanOrEqual(radius);
      }
    }
  });

  it('gives the same pairs every time', () => {
    const again = findPairsWithin(set, radius, { strategy: 'index' });
    expect(Array.from(again.neighbors)).toEqual(Array.from(indexed.neighbors));
    expect(Array.from(again.offsets)).toEqual(Array.from(indexed.offsets));
  });

  it('finds mirrored copies through their views', { timeout: 60_000 }, () => {
    const mirrored = makeSyntheticEmbeddings(2500, { dims: 32, seed: 9, mirror: true }).set;
    const truth = pairSet(findPairsWithin(mirrored, 0.35, { strategy: 'exact' }));
    const plain: VectorSet = { dims: 32, count: mirrored.count, data: mirrored.data };
    const withoutViews = pairSet(findPairsWithin(plain, 0.35, { strategy: 'exact' }));
    expect(truth.size - withoutViews.size).toBeGreaterThan(10); // pairs only views reveal
    expect(
      recall(truth, pairSet(findPairsWithin(mirrored, 0.35, { strategy: 'index' }))),
    ).toBeGreaterThan(0.98);
  });

  it('k nearest neighbours come close to exact ones', { timeout: 60_000 }, () => {
    const small = makeSyntheticEmbeddings(2000, { dims: 32, seed: 2 }).set;
    const views = listViews(small);
    const k = 5;
    const approx = findNeighbors(small, k, { strategy: 'index' });
    const truth = findNeighbors(small, k, { strategy: 'exact' });
    let hits = 0;
    approx.forEach((list, i) => {
      const expected = new Set(truth[i].map((n) => n.index));
      for (const n of list) {
        if (expected.has(n.index)) hits++;
        expect(n.distance).toBeCloseTo(photoDistance(small, i, n.index, views), 6);
      }
      expect(list).toHaveLength(k);
    });
    expect(hits / (small.count * k)).toBeGreaterThan(0.85);
  });
});
