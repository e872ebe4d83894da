/**
 * Pair and retrieval metrics over distances (smaller = more alike). Pure functions; a distance of
 * Infinity stands for a photo a method could not read, which never matches anything.
 */

/** Counts and rates of the pair test `distance <= threshold`. */
export interface PairCounts {
  truePositives: number;
  falsePositives: number;
  positives: number;
  /** NaN when no pair passes the test. */
  precision: number;
  /** NaN when there are no positive pairs. */
  recall: number;
}

/** The best operating point that keeps pair precision at or above a floor. */
export interface OperatingPoint {
  /** Largest observed distance accepted; null when no threshold reaches the floor. */
  threshold: number | null;
  /** Smallest observed distance above `threshold` (Infinity when none). */
  nextDistance: number;
  recall: number;
  precision: number;
}

/**
 * ROC AUC of telling positive pairs from negative ones by distance: the probability that a random
 * positive pair is closer than a random negative one, ties counting half. NaN if a side is empty.
 */
export function rocAuc(positives: readonly number[], negatives: readonly number[]): number {
  if (positives.length === 0 || negatives.length === 0) return NaN;
  const sorted = Float64Array.from(negatives).sort();
  let wins = 0;
  for (const d of positives) {
    const below = lowerBound(sorted, d);
    const upTo = upperBound(sorted, d);
    wins += sorted.length - upTo + (upTo - below) / 2;
  }
  return wins / (positives.length * sorted.length);
}

/** Precision and recall of the pair test `distance <= threshold`. */
export function pairCounts(
  positives: readonly number[],
  negatives: readonly number[],
  threshold: number,
): PairCounts {
  const truePositives = positives.filter((d) => d <= threshold).length;
  const falsePositives = negatives.filter((d) => d <= threshold).length;
  const found = truePositives + falsePositives;
  return {
    truePositives,
    falsePositives,
    positives: positives.length,
    precision: found === 0 ? NaN : truePositives / found,
    recall: positives.length === 0 ? NaN : truePositives / positives.length,
  };
}

/**
 * Every operating point of the pair test `distance <= threshold`, thresholds taken at observed
 * finite distances (all pairs at one distance together), smallest first, each with at least one
 * true positive.
 */
function operatingPoints(
  positives: readonly number[],
  negatives: readonly number[],
): OperatingPoint[] {
  const pairs = labelled(positives, negatives);
  const points: OperatingPoint[] = [];
  let truePositives = 0;
  let found = 0;
  for (let i = 0; i < pairs.length;) {
    const d = pairs[i].d;
    if (!Number.isFinite(d)) break;
    for (; i < pairs.length && pairs[i].d === d; i++) {
      found++;
      if (pairs[i].positive) truePositives++;
    }
    if (truePositives === 0) continue;
    points.push({
      threshold: d,
      nextDistance: i < pairs.length ? pairs[i].d : Infinity,
      recall: truePositives / positives.length,
      precision: truePositives / found,
    });
  }
  return points;
}

const NO_POINT: OperatingPoint = {
  threshold: null,
  nextDistance: Infinity,
  recall: 0,
  precision: NaN,
};

/**
 * The threshold that finds the most positive pairs while pair precision stays >= `minPrecision`
 * (it is the largest such threshold, since recall only grows with it).
 */
export function bestAtPrecision(
  positives: readonly number[],
  negatives: readonly number[],
  minPrecision: number,
): OperatingPoint {
  return (
    operatingPoints(positives, negatives)
      .filter((p) => p.precision >= minPrecision)
      .pop() ?? NO_POINT
  );
}

/**
 * The threshold with the highest pair precision (ties: the larger threshold, which finds more
 * pairs), for sets where no threshold reaches the precision wanted.
 */
export function bestPrecision(
  positives: readonly number[],
  negatives: readonly number[],
): OperatingPoint {
  let best = NO_POINT;
  for (const p of operatingPoints(positives, negatives)) {
    if (Number.isNaN(best.precision) || p.precision >= best.precision) best = p;
  }
  return best;
}

/**
 * 0-based rank of a query's best match: how many wrong gallery items are at least as close as the
 * closest right one (ties count against the method). Infinity when no right item is reachable.
 */
export function rankOfBestMatch(
  rightDistances: readonly number[],
  wrongDistances: readonly number[],
): number {
  const best = Math.min(...rightDistances);
  if (!Number.isFinite(best)) return Infinity;
  return wrongDistances.filter((d) => d <= best).length;
}

/** Share of queries whose best match ranks within the first `k` (NaN for no queries). */
export function recallAtK(ranks: readonly number[], k: number): number {
  if (ranks.length === 0) return NaN;
  return ranks.filter((rank) => rank < k).length / ranks.length;
}

function labelled(positives: readonly number[], negatives: readonly number[]) {
  const pairs = [
    ...positives.map((d) => ({ d, positive: true })),
    ...negatives.map((d) => ({ d, positive: false })),
  ];
  return pairs.sort((a, b) => (a.d < b.d ? -1 : a.d > b.d ? 1 : 0));
}

function lowerBound(sorted: Float64Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(sorted: Float64Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
