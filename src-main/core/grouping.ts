/**
 * Groups photos into near-duplicate and similar groups from their embeddings, without chaining.
 * Pure: no Node imports.
 *
 * The rule (complete linkage, bounded by construction): two photos may share a group only when
 * their view-aware distance is within the group kind's threshold (inclusive) and the user has not
 * marked them "not duplicates"; a group holds only photos that are pairwise allowed, so every
 * group's diameter is at most its threshold, and A near B near C never pulls A and C together when
 * A and C are apart. Near-duplicate groups form first, at the `nearDuplicate` threshold. Similar
 * groups then form at the `similar` threshold over units, a unit being a near-duplicate group or
 * a photo in none, so a near-duplicate group is never split: either it stays a `near-duplicate`
 * group, or it sits whole inside one `similar` group, listed there in `nearDuplicateSets`. Groups
 * grow greedily: seeds in order of most allowed neighbours (then lowest photo index), candidates
 * in order of distance to the seed (then lowest index), each admitted only when allowed with every
 * member so far. A photo is in at most one group. A long exposure bracket whose ends are farther
 * apart than `similar` therefore splits: recall pays, precision never does.
 */
import {
  findPairsWithin,
  pairDistance,
  type IndexOptions,
  type PairGraph,
  type SearchStrategy,
  type VectorSet,
} from './neighbors';

export {
  findNeighbors,
  findPairsWithin,
  type Neighbor,
  type PairGraph,
  type VectorSet,
} from './neighbors';

/** Euclidean distances (inclusive) that make two photos near-duplicates or similar. */
export interface GroupingThresholds {
  nearDuplicate: number;
  similar: number;
}

/**
 * One group. `members` are photo indices with the anchor (keep suggestion) first, the rest by
 * distance to it; `distances[i]` is the view-aware distance of `members[i]` to the anchor (0 for
 * the anchor). A similar group lists the near-duplicate groups it absorbed in `nearDuplicateSets`
 * (photo indices, each with its own preferred photo first).
 */
export interface PhotoGroup {
  kind: 'near-duplicate' | 'similar';
  members: number[];
  distances: number[];
  nearDuplicateSets?: number[][];
}

/** Options of `groupPhotos`. */
export interface GroupingOptions {
  /** Pairs the user marked "not duplicates": never in one group. Called with a < b. */
  exclude?: (a: number, b: number) => boolean;
  /** Keep-suggestion order: the member that sorts first becomes the anchor (ties: lower index). */
  anchorOrder?: (a: number, b: number) => number;
  /** Pairs within `similar` already found (for instance on worker threads); must cover `similar`. */
  pairs?: PairGraph;
  /** Neighbour search strategy when `pairs` is not given. */
  strategy?: SearchStrategy;
  index?: IndexOptions;
}

/**
 * Groups the photos of `set` by the rule in this module's header. Deterministic: the same input
 * gives the same groups in the same order (near-duplicate groups, then similar ones, each by
 * anchor index). Throws a RangeError when thresholds are not numbers with
 * 0 <= nearDuplicate <= similar, or when `pairs` does not fit the set or covers less than `similar`.
 */
export function groupPhotos(
  set: VectorSet,
  thresholds: GroupingThresholds,
  options: GroupingOptions = {},
): PhotoGroup[] {
  checkThresholds(thresholds);
  const graph = options.pairs ?? findPairsWithin(set, thresholds.similar, options);
  if (graph.count !== set.count || graph.radius < thresholds.similar) {
    throw new RangeError(
      `The given pairs cover ${graph.count} photos within ${graph.radius}; grouping needs ` +
        `${set.count} photos within ${thresholds.similar}.`,
    );
  }
  const exclude = options.exclude;
  const isExcluded = exclude
    ? (a: number, b: number): boolean => (a < b ? exclude(a, b) : exclude(b, a))
    : () => false;

  const singles = Array.from({ length: set.count }, (_, i) => [i]);
  const nearGroups = formGroups(graph, singles, thresholds.nearDuplicate, isExcluded)
    .map((group) => group.map((u) => singles[u][0]))
    .filter((photos) => photos.length > 1);
  const inNear = new Uint8Array(set.count);
  for (const photos of nearGroups) for (const p of photos) inNear[p] = 1;
  const units = [...nearGroups, ...singles.filter(([p]) => !inNear[p])];
  const similarGroups = formGroups(graph, units, thresholds.similar, isExcluded);

  const groups = similarGroups
    .filter((group) => group.length > 1 || units[group[0]].length > 1)
    .map((group) =>
      describeGroup(
        graph,
        group.map((u) => units[u]),
        options.anchorOrder,
      ),
    );
  const rank = (g: PhotoGroup): number => (g.kind === 'near-duplicate' ? 0 : 1);
  return groups.sort((a, b) => rank(a) - rank(b) || a.members[0] - b.members[0]);
}

/**
 * Why a pair of thresholds cannot be used (they must be finite with
 * 0 <= nearDuplicate <= similar), or null when it can.
 */
export function thresholdsProblem(t: GroupingThresholds): string | null {
  const ok =
    Number.isFinite(t.nearDuplicate) &&
    Number.isFinite(t.similar) &&
    t.nearDuplicate >= 0 &&
    t.nearDuplicate <= t.similar;
  return ok
    ? null
    : `Grouping thresholds need 0 <= nearDuplicate <= similar; got nearDuplicate ` +
        `${t.nearDuplicate}, similar ${t.similar}.`;
}

function checkThresholds(t: GroupingThresholds): void {
  const problem = thresholdsProblem(t);
  if (problem) throw new RangeError(problem);
}

/**
 * Greedy complete-linkage groups over `units` (lists of photos that stay together): returns lists
 * of unit indices, each a group in which every pair of photos is within `threshold` and not
 * excluded. Units that join nothing come back alone. Every unit appears exactly once.
 */
function formGroups(
  graph: PairGraph,
  units: number[][],
  threshold: number,
  isExcluded: (a: number, b: number) => boolean,
): number[][] {
  const unitOf = new Int32Array(graph.count).fill(-1);
  units.forEach((photos, u) => photos.forEach((p) => (unitOf[p] = u)));
  const degree = unitDegrees(graph, units, unitOf, threshold);
  const first = Int32Array.from(units, (photos) => Math.min(...photos));
  const seeds = Int32Array.from(units.keys()).filter((u) => degree[u] > 0);
  seeds.sort((a, b) => degree[b] - degree[a] || first[a] - first[b]);

  const taken = new Uint8Array(units.length);
  const groups: number[][] = [];
  for (const seed of seeds) {
    if (taken[seed]) continue;
    const group = [seed];
    const photos = [...units[seed]];
    for (const unit of linkedUnits(graph, units[seed], seed, unitOf, threshold)) {
      if (taken[unit] || !canJoin(graph, photos, units[unit], threshold, isExcluded)) continue;
      group.push(unit);
      photos.push(...units[unit]);
    }
    if (group.length === 1) continue;
    for (const u of group) taken[u] = 1;
    groups.push(group);
  }
  units.forEach((_, u) => taken[u] || groups.push([u]));
  return groups;
}

/** Per unit, how many (photo, photo of another unit) pairs lie within `threshold`. */
function unitDegrees(
  graph: PairGraph,
  units: number[][],
  unitOf: Int32Array,
  threshold: number,
): Int32Array {
  const degree = new Int32Array(units.length);
  for (let p = 0; p < graph.count; p++) {
    const u = unitOf[p];
    if (u < 0) continue;
    for (let at = graph.offsets[p]; at < graph.offsets[p + 1]; at++) {
      if (graph.distances[at] <= threshold && unitOf[graph.neighbors[at]] !== u) degree[u]++;
    }
  }
  return degree;
}

/** The other units within `threshold` of any photo of a unit, nearest first (ties: lower index). */
function linkedUnits(
  graph: PairGraph,
  photos: number[],
  self: number,
  unitOf: Int32Array,
  threshold: number,
): number[] {
  const nearest = new Map<number, number>();
  for (const p of photos) {
    for (let at = graph.offsets[p]; at < graph.offsets[p + 1]; at++) {
      const d = graph.distances[at];
      const unit = unitOf[graph.neighbors[at]];
      if (d > threshold || unit === self) continue;
      if (!(nearest.get(unit)! <= d)) nearest.set(unit, d);
    }
  }
  const near = [...nearest];
  near.sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  return near.map(([unit]) => unit);
}

/** Whether every photo of `unit` is within `threshold` of every photo of the group, unexcluded. */
function canJoin(
  graph: PairGraph,
  group: number[],
  unit: number[],
  threshold: number,
  isExcluded: (a: number, b: number) => boolean,
): boolean {
  for (const q of unit) {
    for (const p of group) {
      const d = pairDistance(graph, p, q);
      if (d === undefined || d > threshold || isExcluded(p, q)) return false;
    }
  }
  return true;
}

/** Orders a group anchor-first and measures each member's distance to the anchor. */
function describeGroup(
  graph: PairGraph,
  units: number[][],
  anchorOrder: ((a: number, b: number) => number) | undefined,
): PhotoGroup {
  const prefer = (a: number, b: number): number => (anchorOrder ? anchorOrder(a, b) : 0) || a - b;
  // Without a keep order, the seed (the first photo of the first unit) anchors the group.
  const photos = units.flat();
  const anchor = anchorOrder ? [...photos].sort(prefer)[0] : photos[0];
  const distanceTo = (p: number): number => (p === anchor ? 0 : pairDistance(graph, anchor, p)!);
  const members = [...photos].sort((a, b) =>
    a === anchor ? -1 : b === anchor ? 1 : distanceTo(a) - distanceTo(b) || a - b,
  );
  const group: PhotoGroup = {
    kind: units.length === 1 ? 'near-duplicate' : 'similar',
    members,
    distances: members.map(distanceTo),
  };
  const sets = units.filter((u) => u.length > 1).map((u) => orderSet(graph, u, anchorOrder));
  if (group.kind === 'similar' && sets.length) group.nearDuplicateSets = sets;
  return group;
}

/** A near-duplicate set, its preferred photo first, the rest by distance to it. */
function orderSet(
  graph: PairGraph,
  photos: number[],
  anchorOrder: ((a: number, b: number) => number) | undefined,
): number[] {
  const first = anchorOrder ? [...photos].sort((a, b) => anchorOrder(a, b) || a - b)[0] : photos[0];
  const distanceTo = (p: number): number => (p === first ? 0 : pairDistance(graph, first, p)!);
  return [
    first,
    ...photos.filter((p) => p !== first).sort((a, b) => distanceTo(a) - distanceTo(b) || a - b),
  ];
}
