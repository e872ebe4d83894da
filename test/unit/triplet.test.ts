import { describe, expect, it } from 'vitest';
import {
  VIRTUAL,
  adamStep,
  cloneParams,
  createAdam,
  fitHead,
  headAccuracy,
  hingeLoss,
  jsLinearOps,
  linearRows,
  normaliseRows,
  rankingAccuracy,
  regularisation,
  sgdStep,
  tripletObjective,
  type HeadParams,
  type TripletSet,
} from '../../src-main/core/triplet';

/** Deterministic values in [-1, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

function randomHead(inDims: number, outDims: number, seed: number): HeadParams {
  const r = rng(seed);
  return {
    inDims,
    outDims,
    weight: Float32Array.from({ length: inDims * outDims }, r),
    bias: Float32Array.from({ length: outDims }, () => 0.1 * r()),
  };
}

function tripletSet(rows: number, inDims: number, triplets: number[][], seed: number): TripletSet {
  const r = rng(seed);
  return {
    features: Float32Array.from({ length: rows * inDims }, r),
    rows,
    inDims,
    query: Int32Array.from(triplets.map((t) => t[0])),
    better: Int32Array.from(triplets.map((t) => t[1])),
    worse: Int32Array.from(triplets.map((t) => t[2])),
    weight: Float32Array.from(triplets.map((t) => t[3] ?? 1)),
  };
}

/** The objective in float64 from scratch, for finite differences (independent of the module). */
function objective64(
  params: { weight: Float64Array; bias: Float64Array },
  head: HeadParams,
  set: TripletSet,
  opts: { margin: number; virtualDistance: number; lambda: number; anchor: HeadParams },
): number {
  const { inDims, outDims } = head;
  const y: number[][] = [];
  for (let r = 0; r < set.rows; r++) {
    const z = Array.from({ length: outDims }, (_, o) => {
      let s = params.bias[o];
      for (let k = 0; k < inDims; k++)
        s += params.weight[o * inDims + k] * set.features[r * inDims + k];
      return s;
    });
    const n = Math.hypot(...z);
    y.push(z.map((v) => v / n));
  }
  const dist = (a: number, b: number): number => Math.hypot(...y[a].map((v, o) => v - y[b][o]));
  let total = 0;
  let hinge = 0;
  for (let t = 0; t < set.query.length; t++) {
    const q = set.query[t];
    const dp = set.better[t] === VIRTUAL ? opts.virtualDistance : dist(q, set.better[t]);
    const dn = set.worse[t] === VIRTUAL ? opts.virtualDistance : dist(q, set.worse[t]);
    hinge += set.weight[t] * Math.max(0, opts.margin + dp - dn);
    total += set.weight[t];
  }
  let reg = 0;
  params.weight.forEach((w, i) => (reg += (w - opts.anchor.weight[i]) ** 2));
  params.bias.forEach((b, o) => (reg += (b - opts.anchor.bias[o]) ** 2));
  return hinge / total + opts.lambda * reg;
}

describe('triplet loss', () => {
  it('gives the hinge values worked out by hand', () => {
    // Unit rows in 2-D: q = (1,0), p = (0,1) at distance sqrt(2), n = (-1,0) at distance 2.
    const y = Float64Array.from([1, 0, 0, 1, -1, 0]);
    const set = {
      query: Int32Array.from([0, 0, 0, 0]),
      better: Int32Array.from([1, 2, VIRTUAL, 1]),
      worse: Int32Array.from([2, 1, 1, VIRTUAL]),
      weight: Float32Array.from([1, 1, 1, 1]),
    };
    const margin = 0.5;
    const one = (t: number, w = 1): number =>
      hingeLoss(
        y,
        2,
        {
          query: set.query.subarray(t, t + 1),
          better: set.better.subarray(t, t + 1),
          worse: set.worse.subarray(t, t + 1),
          weight: Float32Array.of(w),
        },
        margin,
        1.2,
      );
    // max(0, 0.5 + 1.41421 - 2) = 0 (ranked right with room to spare? 0.5 + 1.414 - 2 = -0.086).
    expect(one(0)).toBe(0);
    // Reversed: 0.5 + 2 - 1.41421 = 1.08579.
    expect(one(1)).toBeCloseTo(0.5 + 2 - Math.SQRT2, 12);
    // Virtual better at 1.2: 0.5 + 1.2 - 1.41421 = 0.28579.
    expect(one(2)).toBeCloseTo(0.5 + 1.2 - Math.SQRT2, 12);
    // Virtual worse at 1.2: 0.5 + 1.41421 - 1.2 = 0.71421.
    expect(one(3)).toBeCloseTo(0.5 + Math.SQRT2 - 1.2, 12);
    // Weighted mean of all four with weights 1, 1, 1, 1.
    const all = hingeLoss(y, 2, set, margin, 1.2);
    expect(all).toBeCloseTo((0 + 1.08579 + 0.28579 + 0.71421) / 4, 4);
    // Weights 3 and 1 on the last two: (3 * 0.28579 + 0.71421) / 4.
    const weighted = hingeLoss(
      y,
      2,
      {
        query: set.query.subarray(2),
        better: set.better.subarray(2),
        worse: set.worse.subarray(2),
        weight: Float32Array.from([3, 1]),
      },
      margin,
      1.2,
    );
    expect(weighted).toBeCloseTo((3 * (0.5 + 1.2 - Math.SQRT2) + (0.5 + Math.SQRT2 - 1.2)) / 4, 6);
  });

  it('adds lambda times the squared distance to the shipped weights', () => {
    const anchor = randomHead(3, 2, 1);
    const params = cloneParams(anchor);
    params.weight[0] += 0.5;
    params.bias[1] -= 0.25;
    expect(regularisation(params, anchor, 2)).toBeCloseTo(2 * (0.25 + 0.0625), 6);
    expect(regularisation(anchor, anchor, 2)).toBe(0);
  });

  it('normalises head outputs to unit length', () => {
    const head = randomHead(6, 4, 3);
    const set = tripletSet(5, 6, [], 4);
    const { y, norms } = normaliseRows(linearRows(head, set.features, 5), 5, 4);
    for (let r = 0; r < 5; r++) {
      expect(Math.hypot(...y.subarray(r * 4, r * 4 + 4))).toBeCloseTo(1, 10);
      expect(norms[r]).toBeGreaterThan(0);
    }
  });

  it('matches a finite-difference gradient through the L2 normalisation', () => {
    const inDims = 7;
    const outDims = 4;
    const anchor = randomHead(inDims, outDims, 11);
    const params = randomHead(inDims, outDims, 12);
    const set = tripletSet(
      6,
      inDims,
      [
        [0, 1, 2],
        [3, 4, 5, 0.5],
        [1, 0, 5],
        [2, VIRTUAL, 4, 2],
        [5, 3, VIRTUAL],
      ],
      13,
    );
    const opts = { margin: 1.5, virtualDistance: 0.9, lambda: 0.05, anchor };
    const analytic = tripletObjective(params, set, opts);
    expect(analytic.hinge).toBeGreaterThan(0);

    const w64 = { weight: Float64Array.from(params.weight), bias: Float64Array.from(params.bias) };
    expect(objective64(w64, params, set, opts)).toBeCloseTo(analytic.loss, 5);
    const h = 1e-6;
    const numeric = (arr: Float64Array, i: number): number => {
      const keep = arr[i];
      arr[i] = keep + h;
      const up = objective64(w64, params, set, opts);
      arr[i] = keep - h;
      const down = objective64(w64, params, set, opts);
      arr[i] = keep;
      return (up - down) / (2 * h);
    };
    let maxErr = 0;
    let maxGrad = 0;
    for (let i = 0; i < w64.weight.length; i++) {
      const n = numeric(w64.weight, i);
      maxErr = Math.max(maxErr, Math.abs(n - analytic.gradWeight[i]));
      maxGrad = Math.max(maxGrad, Math.abs(n));
    }
    for (let o = 0; o < outDims; o++) {
      const n = numeric(w64.bias, o);
      maxErr = Math.max(maxErr, Math.abs(n - analytic.gradBias[o]));
    }
    expect(maxGrad).toBeGreaterThan(0.01);
    // float32 forward pass vs float64 differences: relative error well under 1e-3.
    expect(maxErr / maxGrad).toBeLessThan(1e-3);
  });

  it('has zero hinge gradient once every triplet clears the margin', () => {
    const anchor = randomHead(4, 3, 21);
    const set = tripletSet(3, 4, [[0, 1, 2]], 22);
    const res = tripletObjective(anchor, set, {
      margin: -10,
      virtualDistance: 1,
      lambda: 0,
      anchor,
    });
    expect(res.loss).toBe(0);
    expect(res.gradWeight.every((g) => g === 0)).toBe(true);
  });

  it('counts a triplet right only when the better photo is strictly closer', () => {
    const y = Float64Array.from([1, 0, 0, 1, -1, 0, 0, 1]);
    const set = {
      query: Int32Array.from([0, 0, 0]),
      better: Int32Array.from([1, 2, 1]),
      worse: Int32Array.from([2, 1, 3]),
    };
    // Right, wrong, tie (rows 1 and 3 are the same point).
    expect(rankingAccuracy(y, 2, set, 1)).toBeCloseTo(1 / 3, 12);
    expect(
      rankingAccuracy(
        y,
        2,
        { query: new Int32Array(0), better: new Int32Array(0), worse: new Int32Array(0) },
        1,
      ),
    ).toBeNaN();
  });
});

describe('optimiser steps', () => {
  it('takes a plain SGD step against the gradient', () => {
    const p = randomHead(2, 1, 31);
    const before = cloneParams(p);
    sgdStep(p, Float32Array.from([1, -2]), Float32Array.from([0.5]), 0.1);
    expect(p.weight[0]).toBeCloseTo(before.weight[0] - 0.1, 6);
    expect(p.weight[1]).toBeCloseTo(before.weight[1] + 0.2, 6);
    expect(p.bias[0]).toBeCloseTo(before.bias[0] - 0.05, 6);
  });

  it('moves each weight by the learning rate on the first Adam step', () => {
    const p = randomHead(2, 1, 32);
    const before = cloneParams(p);
    adamStep(p, Float32Array.from([3, -0.001]), Float32Array.from([0]), createAdam(p), {
      learningRate: 0.01,
    });
    expect(p.weight[0]).toBeCloseTo(before.weight[0] - 0.01, 5);
    expect(p.weight[1]).toBeCloseTo(before.weight[1] + 0.01, 5);
    expect(p.bias[0]).toBe(before.bias[0]);
  });

  it('fits a head that ranks violated triplets right and lowers the objective', async () => {
    const anchor = randomHead(8, 4, 41);
    const triplets: number[][] = [];
    for (let q = 0; q < 10; q++) triplets.push([q, (q + 1) % 10, (q + 5) % 10]);
    const set = tripletSet(10, 8, triplets, 42);
    const before = headAccuracy(anchor, set, 1);
    const fit = await fitHead(anchor, set, {
      margin: 0.2,
      virtualDistance: 1,
      lambda: 1e-4,
      anchor,
      steps: 300,
      learningRate: 0.02,
    });
    expect(fit.loss).toBeLessThan(fit.initialLoss);
    const after = headAccuracy(fit.params, set, 1);
    expect(after).toBeGreaterThan(before);
    expect(after).toBe(1);
    // The anchor was copied, not trained in place.
    expect(Array.from(anchor.weight)).toEqual(Array.from(randomHead(8, 4, 41).weight));
  });

  it('computes the same weight gradient through LinearOps for a subset of rows', () => {
    const set = tripletSet(4, 5, [], 51);
    const ops = jsLinearOps(set.features, 4);
    const gradZ = Float32Array.from([1, 2, -1, 0.5]);
    const g = ops.weightGradient(gradZ, Int32Array.from([2, 0])) as Float32Array;
    for (let k = 0; k < 5; k++) {
      expect(g[k]).toBeCloseTo(1 * set.features[10 + k] + -1 * set.features[k], 6);
      expect(g[5 + k]).toBeCloseTo(2 * set.features[10 + k] + 0.5 * set.features[k], 6);
    }
  });
});
