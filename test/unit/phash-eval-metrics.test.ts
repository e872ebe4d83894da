import { describe, expect, it } from 'vitest';
import {
  bestAtPrecision,
  bestPrecision,
  pairCounts,
  rankOfBestMatch,
  recallAtK,
  rocAuc,
} from '../eval/metrics';
import { scoreReal, scoreSynthetic, type Method } from '../eval/scoring';

describe('rocAuc', () => {
  it('is 1 when every positive is closer than every negative, 0 when reversed', () => {
    expect(rocAuc([0, 1], [2, 3, 4])).toBe(1);
    expect(rocAuc([5, 6], [2, 3])).toBe(0);
  });

  it('counts ties as half and a failed photo (Infinity) as a loss', () => {
    expect(rocAuc([1, 3], [1, 2])).toBe((0.5 + 1 + 0 + 0) / 4);
    expect(rocAuc([Infinity], [1, Infinity])).toBe(0.25);
  });
});

describe('pair precision and recall', () => {
  it('counts pairs at or below the threshold', () => {
    const counts = pairCounts([1, 2, 8], [3, 9, 10], 3);
    expect(counts).toMatchObject({ truePositives: 2, falsePositives: 1, positives: 3 });
    expect(counts.precision).toBeCloseTo(2 / 3);
    expect(counts.recall).toBeCloseTo(2 / 3);
    expect(pairCounts([5], [6], 1).precision).toBeNaN();
  });

  it('finds the largest threshold that keeps the precision floor', () => {
    // Sorted: 1+ 2+ 3- 4+ 5+ 6- : precision 1, 1, 2/3, 3/4, 4/5, 4/6.
    const point = bestAtPrecision([1, 2, 4, 5], [3, 6], 0.8);
    expect(point).toMatchObject({ threshold: 5, nextDistance: 6, recall: 1 });
    expect(bestAtPrecision([1, 2, 4, 5], [3, 6], 0.99)).toMatchObject({
      threshold: 2,
      recall: 0.5,
    });
  });

  it('takes all pairs at one distance together and reports none when the floor is out of reach', () => {
    expect(bestAtPrecision([1, 1], [1], 0.9).threshold).toBeNull();
    expect(bestPrecision([1, 1, 3], [1, 2])).toMatchObject({ threshold: 1, recall: 2 / 3 });
  });
});

describe('retrieval', () => {
  it('ranks the closest right item, ties counting against the method', () => {
    expect(rankOfBestMatch([2, 5], [1, 3])).toBe(1);
    expect(rankOfBestMatch([2], [2, 3])).toBe(1);
    expect(rankOfBestMatch([Infinity], [1])).toBe(Infinity);
    expect(recallAtK([0, 1, 4, Infinity], 1)).toBe(0.25);
    expect(recallAtK([0, 1, 4, Infinity], 4)).toBe(0.5);
  });
});

/** Items on a line: the distance is the gap between their positions. */
function lineMethod(positions: number[]): Method {
  return {
    name: 'line',
    nearDuplicate: 0.5,
    similar: 0.5,
    distance: (i, j) => Math.abs(positions[i] - positions[j]),
  };
}

describe('scoring layouts', () => {
  it('pairs each original with its copy and against other originals and distractors', () => {
    // originals 0, 1 at 0 and 10; distractor 2 at 20; copies 3 (of 0) at 0.2 and 4 (of 1) at 17, nearer the distractor.
    const method = lineMethod([0, 10, 20, 0.2, 17]);
    const { byKind } = scoreSynthetic(method, {
      originals: [0, 1],
      distractors: [2],
      copies: { edit: [3, 4] },
    });
    const score = byKind.get('edit')!;
    expect(score.positives).toBe(2);
    // original-original 1, originals-distractor 2, copies vs other originals and distractor 4.
    expect(score.negatives).toBe(7);
    expect(score.recall).toBe(0.5);
    expect(score.precision).toBe(1);
    expect(score.recallAt1).toBe(0.5);
  });

  it('treats all pairs within a real group as positives and counts cross pairs once', () => {
    // group A = 0, 1 (positions 0, 0.4); group B = 2, 3 (5, 5.3); distractor 4 at 9.
    const method = lineMethod([0, 0.4, 5, 5.3, 9]);
    const layout = {
      groups: [
        { kind: 'burst', members: [0, 1] },
        { kind: 'burst', members: [2, 3] },
      ],
      distractors: [4],
    };
    const { byKind, pooled } = scoreReal(method, layout);
    const burst = byKind.get('burst')!;
    expect(burst.positives).toBe(2);
    expect(burst.negatives).toBe(4 + 4);
    expect(burst.recall).toBe(1);
    expect(burst.recallAt1).toBe(1);
    expect(pooled.negatives.length).toBe(8);
  });
});
