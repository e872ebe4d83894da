import { describe, expect, it } from 'vitest';
import { groupPhotos, type PhotoGroup } from '../../src-main/core/grouping';
import {
  findPairsWithin,
  listViews,
  photoDistance,
  type VectorSet,
} from '../../src-main/core/neighbors';
import { makeSyntheticEmbeddings } from '../bench/grouping.bench';

/** Photos as points on a line (2-d vectors (x, 0)): distances are differences of x. */
function onLine(...xs: number[]): VectorSet {
  return { dims: 2, count: xs.length, data: Float32Array.from(xs.flatMap((x) => [x, 0])) };
}

const THRESHOLDS = { nearDuplicate: 0.25, similar: 0.5 };

function sorted(groups: PhotoGroup[]): { kind: string; members: number[] }[] {
  return groups.map((g) => ({ kind: g.kind, members: [...g.members].sort((a, b) => a - b) }));
}

describe('groupPhotos', () => {
  it('does not chain A near B near C when A and C are apart', () => {
    // A-B and B-C are near-duplicates (0.2), A-C are 0.4 apart: similar but not near-duplicate.
    const set = onLine(0, 0.2, 0.4);
    const groups = groupPhotos(set, THRESHOLDS);
    expect(
      groups.every(
        (g) => !(g.members.includes(0) && g.members.includes(2) && g.kind === 'near-duplicate'),
      ),
    ).toBe(true);
    expect(sorted(groups)).toEqual([{ kind: 'similar', members: [0, 1, 2] }]);
    expect(groups[0].nearDuplicateSets).toEqual([[1, 0]]);

    // Stretched: A-C now 0.6, beyond `similar`; no group may hold both.
    const far = groupPhotos(onLine(0, 0.3, 0.6), THRESHOLDS);
    expect(far).toHaveLength(1);
    expect(far[0].members.includes(0) && far[0].members.includes(2)).toBe(false);
  });

  it('splits a long drift into groups whose spread stays within the threshold', () => {
    const set = onLine(...Array.from({ length: 12 }, (_, i) => i * 0.2));
    const groups = groupPhotos(set, THRESHOLDS);
    for (const g of groups) {
      const xs = g.members.map((m) => set.data[m * 2]);
      expect(Math.max(...xs) - Math.min(...xs)).toBeLessThanOrEqual(THRESHOLDS.similar + 1e-6);
    }
    const seen = groups.flatMap((g) => g.members);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('treats distances equal to a threshold as within it', () => {
    // 0.25 and 0.5 are exact in float32.
    expect(sorted(groupPhotos(onLine(0, 0.25), THRESHOLDS))).toEqual([
      { kind: 'near-duplicate', members: [0, 1] },
    ]);
    expect(sorted(groupPhotos(onLine(0, 0.2500001), THRESHOLDS))).toEqual([
      { kind: 'similar', members: [0, 1] },
    ]);
    expect(sorted(groupPhotos(onLine(0, 0.5), THRESHOLDS))).toEqual([
      { kind: 'similar', members: [0, 1] },
    ]);
    expect(groupPhotos(onLine(0, 0.5000001), THRESHOLDS)).toEqual([]);
  });

  it('never puts a pair the user marked "not duplicates" in one group', () => {
    const set = onLine(0, 0.05, 0.1, 3);
    const calls: [number, number][] = [];
    const exclude = (a: number, b: number): boolean => {
      calls.push([a, b]);
      return a === 0 && b === 2;
    };
    const groups = groupPhotos(set, THRESHOLDS, { exclude });
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.every(([a, b]) => a < b)).toBe(true);
    for (const g of groups) expect(g.members.includes(0) && g.members.includes(2)).toBe(false);
    // Seeds tie on neighbours, so photo 0 seeds; 2 cannot join it, and 1 is taken.
    expect(sorted(groups)).toEqual([{ kind: 'near-duplicate', members: [0, 1] }]);
  });

  it('groups a mirrored copy through its mirror view only', () => {
    const data = Float32Array.from([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]);
    const plain: VectorSet = { dims: 4, count: 3, data };
    const views = { photo: Int32Array.from([1]), data: Float32Array.from([0.99, 0.1, 0, 0]) };
    expect(groupPhotos(plain, THRESHOLDS)).toEqual([]);
    const groups = groupPhotos({ ...plain, views }, THRESHOLDS);
    expect(sorted(groups)).toEqual([{ kind: 'near-duplicate', members: [0, 1] }]);
    expect(groups[0].distances[1]).toBeCloseTo(Math.hypot(0.01, 0.1), 6);
  });

  it('lets anchorOrder choose the anchor and measures distances to it', () => {
    const set = onLine(0, 0.1, 0.2);
    const preferTwo = (a: number, b: number): number => (a === 2 ? -1 : b === 2 ? 1 : 0);
    const [group] = groupPhotos(set, THRESHOLDS, { anchorOrder: preferTwo });
    expect(group.members).toEqual([2, 1, 0]);
    expect(group.distances.map((d) => +d.toFixed(6))).toEqual([0, 0.1, 0.2]);

    // Without an order the seed anchors: the photo with most neighbours (1), then by distance.
    const [plain] = groupPhotos(onLine(0, 0.1, 0.2, 0.3), THRESHOLDS);
    expect(plain.members).toEqual([1, 0, 2, 3]);
    expect(plain.distances.map((d) => +d.toFixed(6))).toEqual([0, 0.1, 0.1, 0.2]);
    expect(plain.nearDuplicateSets).toEqual([[1, 0, 2]]);
  });

  it('keeps a near-duplicate set whole inside a same-scene group', () => {
    // 0 and 1 are near-duplicates; 2 and 3 are other shots of the scene, 0.42 apart.
    const set: VectorSet = {
      dims: 2,
      count: 4,
      data: Float32Array.from([0, 0, 0.02, 0, 0.3, 0, 0, 0.3]),
    };
    const groups = groupPhotos(set, THRESHOLDS, { anchorOrder: (a, b) => b - a });
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatchObject({ kind: 'similar', members: [3, 0, 1, 2] }); // by distance to the anchor;
    expect(groups[0].nearDuplicateSets).toEqual([[1, 0]]);
  });

  it('keeps every group complete-linkage on synthetic libraries, deterministically', () => {
    const { set } = makeSyntheticEmbeddings(2500, { dims: 32, seed: 3, mirror: true });
    const thresholds = { nearDuplicate: 0.35, similar: 0.8 };
    const groups = groupPhotos(set, thresholds);
    expect(groups.length).toBeGreaterThan(100);
    const views = listViews(set);
    const distance = (a: number, b: number): number => photoDistance(set, a, b, views);
    const seen = new Set<number>();
    for (const g of groups) {
      const limit = g.kind === 'near-duplicate' ? thresholds.nearDuplicate : thresholds.similar;
      for (const m of g.members) {
        expect(seen.has(m)).toBe(false);
        seen.add(m);
        for (const n of g.members) expect(distance(m, n)).toBeLessThanOrEqual(limit + 1e-9);
      }
      for (const inner of g.nearDuplicateSets ?? []) {
        for (const m of inner)
          for (const n of inner) expect(distance(m, n)).toBeLessThanOrEqual(0.35 + 1e-9);
      }
      g.members.forEach((m, i) => expect(g.distances[i]).toBeCloseTo(distance(g.members[0], m), 6));
    }
    expect(groupPhotos(set, thresholds)).toEqual(groups);
    const pairs = findPairsWithin(set, thresholds.similar);
    expect(groupPhotos(set, thresholds, { pairs })).toEqual(groups);
  }, 60_000);

  it('refuses thresholds out of order and pairs that do not cover them', () => {
    const set = onLine(0, 0.1);
    expect(() => groupPhotos(set, { nearDuplicate: 0.6, similar: 0.5 })).toThrow(
      /0 <= nearDuplicate <= similar/,
    );
    expect(() => groupPhotos(set, { nearDuplicate: Number.NaN, similar: 0.5 })).toThrow(RangeError);
    const pairs = findPairsWithin(set, 0.3);
    expect(() => groupPhotos(set, THRESHOLDS, { pairs })).toThrow(
      /within 0.3; grouping needs 2 photos within 0.5/,
    );
  });
});
