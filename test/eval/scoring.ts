/**
 * Turns a method's distances over a set into per-kind figures: which pairs are positive, which are
 * negative, and which gallery each query searches.
 */
import { bestAtPrecision, pairCounts, rankOfBestMatch, recallAtK, rocAuc } from './metrics';

/** Pair precision at which every method's recall is compared on an equal footing. */
export const FAIR_PRECISION = 0.99;

/** A way of comparing two photos of one set, by their indices in the set's item list. */
export interface Method {
  name: string;
  /** Pair test for the synthetic kinds: distance <= nearDuplicate. */
  nearDuplicate: number;
  /** Pair test for the real groups: distance <= similar. */
  similar: number;
  distance(i: number, j: number): number;
}

/** One method's figures on one kind. Rates are NaN where undefined (no pair found, no query). */
export interface KindScore {
  auc: number;
  /** Pair precision and recall at the method's shipped threshold. */
  precision: number;
  recall: number;
  falsePositives: number;
  recallAt1: number;
  recallAt4: number;
  /** Recall at pair precision >= FAIR_PRECISION, threshold chosen for this kind. */
  recallAtFair: number;
  thresholdAtFair: number | null;
  positives: number;
  negatives: number;
}

/** Item indices of the synthetic set; a copy is null where it could not be made. */
export interface SyntheticLayout {
  originals: number[];
  distractors: number[];
  copies: Record<string, (number | null)[]>;
}

/** Item indices of the real set. */
export interface RealLayout {
  groups: { kind: string; members: number[] }[];
  distractors: number[];
}

/** Distances pooled over every kind of a set, for calibrating thresholds. */
export interface PooledPairs {
  positives: number[];
  negatives: number[];
}

/**
 * Scores every synthetic kind. Positives: an original and its copy. Negatives: the original and the
 * copy each against every other original and every distractor. Retrieval: the copy searches the
 * originals plus distractors for its original.
 */
export function scoreSynthetic(
  method: Method,
  layout: SyntheticLayout,
): { byKind: Map<string, KindScore>; pooled: PooledPairs } {
  const gallery = [...layout.originals, ...layout.distractors];
  const baseNegatives: number[] = [];
  layout.originals.forEach((original, a) => {
    for (let g = a + 1; g < gallery.length; g++)
      baseNegatives.push(method.distance(original, gallery[g]));
  });

  const byKind = new Map<string, KindScore>();
  const pooled: PooledPairs = { positives: [], negatives: baseNegatives.slice() };
  for (const [kind, copies] of Object.entries(layout.copies)) {
    const positives: number[] = [];
    const negatives = baseNegatives.slice();
    const ranks: number[] = [];
    copies.forEach((copy, i) => {
      if (copy === null) return;
      const row = gallery.map((item) => method.distance(copy, item));
      const wrong = row.filter((_, g) => g !== i);
      positives.push(row[i]);
      for (const d of wrong) negatives.push(d);
      ranks.push(rankOfBestMatch([row[i]], wrong));
      pooled.positives.push(row[i]);
      for (const d of wrong) pooled.negatives.push(d);
    });
    if (positives.length === 0) continue;
    byKind.set(kind, summarise(positives, negatives, ranks, method.nearDuplicate));
  }
  return { byKind, pooled };
}

/**
 * Scores every real group kind. Positives: all pairs within a group. Negatives: each member
 * against every distractor and every member of another group. Retrieval: each member searches all
 * other photos of the set, and is a hit when any group-mate ranks within k.
 */
export function scoreReal(
  method: Method,
  layout: RealLayout,
): { byKind: Map<string, KindScore>; pooled: PooledPairs } {
  const groupOf = new Map<number, number>();
  layout.groups.forEach((group, g) => group.members.forEach((m) => groupOf.set(m, g)));
  const everyone = [...layout.groups.flatMap((group) => group.members), ...layout.distractors];

  const byKind = new Map<string, KindScore>();
  const pooled: PooledPairs = { positives: [], negatives: [] };
  const kinds = [...new Set(layout.groups.map((group) => group.kind))];
  for (const kind of kinds) {
    const positives: number[] = [];
    const negatives: number[] = [];
    const ranks: number[] = [];
    layout.groups.forEach((group, g) => {
      if (group.kind !== kind) return;
      for (const member of group.members) {
        const right: number[] = [];
        const wrong: number[] = [];
        for (const other of everyone) {
          if (other === member) continue;
          const d = method.distance(member, other);
          const otherGroup = groupOf.get(other);
          if (otherGroup === g) {
            right.push(d);
            if (other > member) positives.push(d);
            continue;
          }
          wrong.push(d);
          // A pair of two members of this kind's groups is counted once, from the lower index.
          const isCountedElsewhere =
            otherGroup !== undefined && layout.groups[otherGroup].kind === kind && other < member;
          if (!isCountedElsewhere) negatives.push(d);
          const isPooledElsewhere = otherGroup !== undefined && other < member;
          if (!isPooledElsewhere) pooled.negatives.push(d);
        }
        ranks.push(rankOfBestMatch(right, wrong));
      }
    });
    pooled.positives.push(...positives);
    byKind.set(kind, summarise(positives, negatives, ranks, method.similar));
  }
  return { byKind, pooled };
}

/** The mean of each figure over several kinds (NaN figures are left out of their mean). */
export function meanScore(scores: KindScore[]): KindScore {
  const mean = (pick: (s: KindScore) => number): number => {
    const values = scores.map(pick).filter((v) => !Number.isNaN(v));
    return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
  };
  return {
    auc: mean((s) => s.auc),
    precision: mean((s) => s.precision),
    recall: mean((s) => s.recall),
    falsePositives: scores.reduce((a, s) => a + s.falsePositives, 0),
    recallAt1: mean((s) => s.recallAt1),
    recallAt4: mean((s) => s.recallAt4),
    recallAtFair: mean((s) => s.recallAtFair),
    thresholdAtFair: null,
    positives: scores.reduce((a, s) => a + s.positives, 0),
    negatives: scores.reduce((a, s) => a + s.negatives, 0),
  };
}

function summarise(
  positives: number[],
  negatives: number[],
  ranks: number[],
  threshold: number,
): KindScore {
  const counts = pairCounts(positives, negatives, threshold);
  const fair = bestAtPrecision(positives, negatives, FAIR_PRECISION);
  return {
    auc: rocAuc(positives, negatives),
    precision: counts.precision,
    recall: counts.recall,
    falsePositives: counts.falsePositives,
    recallAt1: recallAtK(ranks, 1),
    recallAt4: recallAtK(ranks, 4),
    recallAtFair: fair.recall,
    thresholdAtFair: fair.threshold,
    positives: positives.length,
    negatives: negatives.length,
  };
}
