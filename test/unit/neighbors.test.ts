import { describe, expect, it } from 'vitest';
import {
  findNeighbors,
  findPairsWithin,
  isExactSearch,
  pairDistance,
  photoDistance,
  type PairGraph,
  type VectorSet,
} from '../../src-main/core/neighbors';

/** Deterministic pseudo-random numbers for test data. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

/** `count` random unit vectors of `dims` values. */
function randomUnitVectors(count: number, dims: number, seed: number): Float32Array {
  const next = random(seed);
  const data = new Float32Array(count * dims);
  for (let i = 0; i < count; i++) {
    let norm = 0;
    for (let d = 0; d < dims; d++) {
      data[i * dims + d] = next() - 0.5;
      norm += data[i * dims + d] ** 2;
    }
    for (let d = 0; d < dims; d++) data[i * dims + d] /= Math.sqrt(norm);
  }
  return data;
}

/** Plain reference: the view-aware distance by its definition. */
function referenceDistance(set: VectorSet, a: number, b: number): number {
  const { dims } = set;
  const row = (source: Float32Array, r: number): Float32Array =>
    source.subarray(r * dims, (r + 1) * dims);
  const rowsOf = (p: number): Float32Array[] => [
    row(set.data, p),
    ...Array.from(set.views?.photo ?? [])
      .map((owner, r) => (owner === p ? row(set.views!.data, r) : null))
      .filter((r): r is Float32Array => r !== null),
  ];
  const dist = (x: Float32Array, y: Float32Array): number =>
    Math.sqrt(x.reduce((s, v, d) => s + (v - y[d]) ** 2, 0));
  const identityA = row(set.data, a);
  const identityB = row(set.data, b);
  return Math.min(
    ...rowsOf(a).map((v) => dist(v, identityB)),
    ...rowsOf(b).map((w) => dist(w, identityA)),
  );
}

/** Plain reference k-NN: sort everything. */
function referenceNeighbors(set: VectorSet, k: number, max = Infinity): number[][] {
  return Array.from({ length: set.count }, (_, i) =>
    Array.from({ length: set.count }, (_, j) => j)
      .filter((j) => j !== i)
      .map((j) => ({ j, d: referenceDistance(set, i, j) }))
      .filter((e) => e.d <= max)
      .sort((x, y) => x.d - y.d || x.j - y.j)
      .slice(0, k)
      .map((e) => e.j),
  );
}

function pairsOf(graph: PairGraph): string[] {
  const out: string[] = [];
  for (let a = 0; a < graph.count; a++) {
    for (let p = graph.offsets[a]; p < graph.offsets[a + 1]; p++) {
      if (graph.neighbors[p] > a) out.push(`${a}-${graph.neighbors[p]}`);
    }
  }
  return out;
}

describe('findNeighbors (exact search)', () => {
  it('matches brute force on random vectors', () => {
    const set: VectorSet = { dims: 12, count: 150, data: randomUnitVectors(150, 12, 7) };
    expect(isExactSearch(set)).toBe(true);
    const lists = findNeighbors(set, 6);
    const expected = referenceNeighbors(set, 6);
    lists.forEach((list, i) => {
      expect(list.map((n) => n.index)).toEqual(expected[i]);
      for (const n of list) expect(n.distance).toBeCloseTo(referenceDistance(set, i, n.index), 5);
    });
  });

  it('matches brute force with extra view rows, counting both directions', () => {
    const count = 80;
    const views = {
      photo: Int32Array.from({ length: 60 }, (_, r) => (r * 7) % count),
      data: randomUnitVectors(60, 8, 3),
    };
    const set: VectorSet = { dims: 8, count, data: randomUnitVectors(count, 8, 4), views };
    const lists = findNeighbors(set, 4);
    const expected = referenceNeighbors(set, 4);
    lists.forEach((list, i) => expect(list.map((n) => n.index)).toEqual(expected[i]));
  });

  it('lists only photos within maxDistance, nearest first, never the photo itself', () => {
    const set: VectorSet = { dims: 6, count: 60, data: randomUnitVectors(60, 6, 11) };
    const lists = findNeighbors(set, 10, { maxDistance: 0.9 });
    const expected = referenceNeighbors(set, 10, 0.9);
    lists.forEach((list, i) => {
      expect(list.map((n) => n.index)).toEqual(expected[i]);
      expect(list.some((n) => n.index === i)).toBe(false);
      for (let p = 1; p < list.length; p++) {
        expect(list[p].distance).toBeGreaterThanOrEqual(list[p - 1].distance);
      }
    });
  });

  it('returns fewer than k when the library is smaller', () => {
    const set: VectorSet = { dims: 4, count: 3, data: randomUnitVectors(3, 4, 1) };
    expect(findNeighbors(set, 5).map((l) => l.length)).toEqual([2, 2, 2]);
    expect(findNeighbors({ dims: 4, count: 0, data: new Float32Array(0) }, 3)).toEqual([]);
  });
});

describe('findPairsWithin', () => {
  it('includes a pair at exactly the radius and leaves out one just beyond', () => {
    // Exact in float32: (0,0)-(0.5,0) is 0.5 apart; (0,0)-(0,0.5000001) slightly more.
    const data = Float32Array.from([0, 0, 0.5, 0, 0, 0.5000001]);
    const graph = findPairsWithin({ dims: 2, count: 3, data }, 0.5);
    expect(pairsOf(graph)).toEqual(['0-1']);
    expect(pairDistance(graph, 1, 0)).toBe(0.5);
    expect(pairDistance(graph, 0, 2)).toBeUndefined();
  });

  it('finds a mirrored copy only through its mirror view', () => {
    // Photo 1 is photo 0 flipped: its identity is far from photo 0, its mirror view equals it.
    const data = Float32Array.from([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]);
    const withoutViews: VectorSet = { dims: 4, count: 3, data };
    const withViews: VectorSet = {
      ...withoutViews,
      views: { photo: Int32Array.from([1]), data: Float32Array.from([1, 0, 0, 0]) },
    };
    expect(pairsOf(findPairsWithin(withoutViews, 0.3))).toEqual([]);
    const graph = findPairsWithin(withViews, 0.3);
    expect(pairsOf(graph)).toEqual(['0-1']);
    expect(pairDistance(graph, 0, 1)).toBe(0);
    expect(photoDistance(withViews, 0, 1)).toBe(0);
    expect(findNeighbors(withViews, 1)[0]).toEqual([{ index: 1, distance: 0 }]);
  });

  it('refuses inconsistent input with a reason', () => {
    const data = new Float32Array(10);
    expect(() => findPairsWithin({ dims: 4, count: 3, data }, 0.5)).toThrow(
      /3 vectors of 4 values need 12; got 10/,
    );
    const views = { photo: Int32Array.from([5]), data: new Float32Array(4) };
    expect(() =>
      findPairsWithin({ dims: 4, count: 2, data: new Float32Array(8), views }, 0.5),
    ).toThrow(/names photo 5/);
    expect(() => findPairsWithin({ dims: 4, count: 2, data: new Float32Array(8) }, -1)).toThrow(
      RangeError,
    );
    expect(() => findNeighbors({ dims: 4, count: 2, data: new Float32Array(8) }, 0)).toThrow(
      /positive integer; got 0/,
    );
  });
});
