/**
 * The triplet loss that fine-tunes the head on the user's labels, its analytic gradient through the
 * L2 normalisation, the pull toward the shipped weights, and the optimiser steps. Pure: no Node
 * imports; the heavy matrix products can be handed to a faster backend through `LinearOps`.
 */

/** The trainable part of a head: `outDims x inDims` weights (row-major) and `outDims` biases. */
export interface HeadParams {
  inDims: number;
  outDims: number;
  weight: Float32Array;
  bias: Float32Array;
}

/**
 * Triplets over a small table of feature rows. Triplet t says: row `better[t]` is a better match
 * for row `query[t]` than row `worse[t]`. Either partner may be `VIRTUAL` (-1): it then stands for
 * a photo at exactly `virtualDistance` from the query, which turns a pair decision ("these two are
 * not duplicates": worse only; "these are": better only) into the same hinge.
 */
export interface TripletSet {
  /** `rows * inDims` features, row-major. */
  features: Float32Array;
  rows: number;
  inDims: number;
  query: Int32Array;
  better: Int32Array;
  worse: Int32Array;
  /** Weight of each triplet (> 0); the hinge term is the weighted mean. */
  weight: Float32Array;
}

/** Index meaning "a virtual partner at `virtualDistance` from the query". */
export const VIRTUAL = -1;

/** Settings of the objective: hinge margin, virtual-partner distance and the pull toward the anchor. */
export interface TripletLossOptions {
  /** The hinge margin g in max(0, g + D(q, better) - D(q, worse)), in embedding distance units. */
  margin: number;
  /** Distance of a virtual partner (the grouping threshold, so pair labels aim at it). */
  virtualDistance: number;
  /** Strength of lambda * (||W - W0||^2 + ||b - b0||^2). */
  lambda: number;
  /** The weights the regulariser pulls toward (the shipped head). */
  anchor: HeadParams;
}

/** The objective and its gradient with respect to the head's weight and bias. */
export interface ObjectiveResult {
  loss: number;
  hinge: number;
  regularisation: number;
  gradWeight: Float32Array;
  gradBias: Float32Array;
}

/** Computes `rows` pre-normalisation outputs z = W x + b (`rows * outDims` values). */
export function linearRows(params: HeadParams, features: Float32Array, rows: number): Float32Array {
  const { inDims, outDims, weight, bias } = params;
  if (features.length !== rows * inDims) {
    throw new RangeError(`linearRows got ${features.length} values for ${rows} rows of ${inDims}.`);
  }
  const z = new Float32Array(rows * outDims);
  for (let r = 0; r < rows; r++) {
    const x = r * inDims;
    for (let o = 0; o < outDims; o++) {
      z[r * outDims + o] = bias[o] + dot(weight, o * inDims, features, x, inDims);
    }
  }
  return z;
}

/** Unit-length rows y = z / ||z|| and the norms ||z|| (a zero row stays zero, norm 0). */
export function normaliseRows(
  z: Float32Array,
  rows: number,
  outDims: number,
): { y: Float64Array; norms: Float64Array } {
  const y = new Float64Array(rows * outDims);
  const norms = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let o = 0; o < outDims; o++) sum += z[r * outDims + o] ** 2;
    const norm = Math.sqrt(sum);
    norms[r] = norm;
    if (norm === 0) continue;
    for (let o = 0; o < outDims; o++) y[r * outDims + o] = z[r * outDims + o] / norm;
  }
  return { y, norms };
}

/**
 * The weighted mean hinge over `set`'s triplets, on unit rows `y`. When `gradY` is given (same
 * shape as `y`), adds d(hinge)/dy to it. Distance is Euclidean.
 */
export function hingeLoss(
  y: Float64Array,
  outDims: number,
  set: Pick<TripletSet, 'query' | 'better' | 'worse' | 'weight'>,
  margin: number,
  virtualDistance: number,
  gradY?: Float64Array,
): number {
  const { query, better, worse, weight } = set;
  let totalWeight = 0;
  for (let t = 0; t < query.length; t++) totalWeight += weight[t];
  if (totalWeight === 0) return 0;

  let loss = 0;
  for (let t = 0; t < query.length; t++) {
    const q = query[t];
    const p = better[t];
    const n = worse[t];
    const dp = p === VIRTUAL ? virtualDistance : rowDistance(y, q, p, outDims);
    const dn = n === VIRTUAL ? virtualDistance : rowDistance(y, q, n, outDims);
    const h = margin + dp - dn;
    if (h <= 0) continue;
    const w = weight[t] / totalWeight;
    loss += w * h;
    if (!gradY) continue;
    // dD(a,b)/dy_a = (y_a - y_b) / D; the hinge adds D(q,p) and subtracts D(q,n).
    if (p !== VIRTUAL && dp > 0) addDistanceGrad(gradY, y, q, p, outDims, w / dp);
    if (n !== VIRTUAL && dn > 0) addDistanceGrad(gradY, y, q, n, outDims, -w / dn);
  }
  return loss;
}

/**
 * Back-propagates d/dy through y = z / ||z||: dz = (dy - y (y . dy)) / ||z||, per row. Rows with
 * zero norm get zero gradient.
 */
export function gradThroughNorm(
  y: Float64Array,
  norms: Float64Array,
  gradY: Float64Array,
  rows: number,
  outDims: number,
): Float32Array {
  const gradZ = new Float32Array(rows * outDims);
  for (let r = 0; r < rows; r++) {
    const norm = norms[r];
    if (norm === 0) continue;
    const at = r * outDims;
    let proj = 0;
    for (let o = 0; o < outDims; o++) proj += y[at + o] * gradY[at + o];
    for (let o = 0; o < outDims; o++) gradZ[at + o] = (gradY[at + o] - y[at + o] * proj) / norm;
  }
  return gradZ;
}

/**
 * lambda * (||W - W0||^2 + ||b - b0||^2); when gradients are given, adds 2 lambda (W - W0) and
 * 2 lambda (b - b0) to them.
 */
export function regularisation(
  params: HeadParams,
  anchor: HeadParams,
  lambda: number,
  gradWeight?: Float32Array,
  gradBias?: Float32Array,
): number {
  let sum = 0;
  for (let i = 0; i < params.weight.length; i++) {
    const d = params.weight[i] - anchor.weight[i];
    sum += d * d;
    if (gradWeight) gradWeight[i] += 2 * lambda * d;
  }
  for (let o = 0; o < params.bias.length; o++) {
    const d = params.bias[o] - anchor.bias[o];
    sum += d * d;
    if (gradBias) gradBias[o] += 2 * lambda * d;
  }
  return lambda * sum;
}

/**
 * The full objective (weighted mean hinge + regularisation) and its analytic gradient, all in
 * plain JavaScript. The reference the gradient test checks; `fitHead` does the same through
 * `LinearOps`.
 */
export function tripletObjective(
  params: HeadParams,
  set: TripletSet,
  opts: TripletLossOptions,
): ObjectiveResult {
  checkShapes(params, set, opts.anchor);
  const z = linearRows(params, set.features, set.rows);
  const step = hingeStep(z, params.outDims, set, opts);
  const gradWeight = weightGradientJs(
    step.gradZ,
    set.features,
    set.rows,
    params.inDims,
    params.outDims,
  );
  const gradBias = biasGradient(step.gradZ, set.rows, params.outDims);
  const reg = regularisation(params, opts.anchor, opts.lambda, gradWeight, gradBias);
  return { loss: step.hinge + reg, hinge: step.hinge, regularisation: reg, gradWeight, gradBias };
}

/**
 * Share of triplets ranked right: D(q, better) < D(q, worse), with `virtualDistance` for a virtual
 * partner. `y` holds unit rows. Returns NaN for an empty set.
 */
export function rankingAccuracy(
  y: Float64Array,
  outDims: number,
  set: Pick<TripletSet, 'query' | 'better' | 'worse'>,
  virtualDistance: number,
): number {
  const { query, better, worse } = set;
  if (query.length === 0) return Number.NaN;
  let right = 0;
  for (let t = 0; t < query.length; t++) {
    const q = query[t];
    const dp = better[t] === VIRTUAL ? virtualDistance : rowDistance(y, q, better[t], outDims);
    const dn = worse[t] === VIRTUAL ? virtualDistance : rowDistance(y, q, worse[t], outDims);
    if (dp < dn) right += 1;
  }
  return right / query.length;
}

/** Ranking accuracy of `params` on `set`, computing the embeddings in JavaScript. */
export function headAccuracy(params: HeadParams, set: TripletSet, virtualDistance: number): number {
  const z = linearRows(params, set.features, set.rows);
  const { y } = normaliseRows(z, set.rows, params.outDims);
  return rankingAccuracy(y, params.outDims, set, virtualDistance);
}

/** Moment estimates of the Adam optimiser, one per parameter. */
export interface AdamState {
  step: number;
  mWeight: Float32Array;
  vWeight: Float32Array;
  mBias: Float32Array;
  vBias: Float32Array;
}

/** Adam's step size and decay rates (defaults 0.9, 0.999, 1e-8). */
export interface AdamOptions {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/** Fresh Adam state for `params`. */
export function createAdam(params: HeadParams): AdamState {
  return {
    step: 0,
    mWeight: new Float32Array(params.weight.length),
    vWeight: new Float32Array(params.weight.length),
    mBias: new Float32Array(params.bias.length),
    vBias: new Float32Array(params.bias.length),
  };
}

/** One Adam step (bias-corrected), updating `params` in place. */
export function adamStep(
  params: HeadParams,
  gradWeight: Float32Array,
  gradBias: Float32Array,
  state: AdamState,
  opts: AdamOptions,
): void {
  const b1 = opts.beta1 ?? 0.9;
  const b2 = opts.beta2 ?? 0.999;
  const eps = opts.epsilon ?? 1e-8;
  state.step += 1;
  const lr = (opts.learningRate * Math.sqrt(1 - b2 ** state.step)) / (1 - b1 ** state.step);
  const update = (p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array): void => {
    for (let i = 0; i < p.length; i++) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      p[i] -= (lr * m[i]) / (Math.sqrt(v[i]) + eps);
    }
  };
  update(params.weight, gradWeight, state.mWeight, state.vWeight);
  update(params.bias, gradBias, state.mBias, state.vBias);
}

/** One plain gradient-descent step, updating `params` in place. */
export function sgdStep(
  params: HeadParams,
  gradWeight: Float32Array,
  gradBias: Float32Array,
  learningRate: number,
): void {
  for (let i = 0; i < params.weight.length; i++) params.weight[i] -= learningRate * gradWeight[i];
  for (let o = 0; o < params.bias.length; o++) params.bias[o] -= learningRate * gradBias[o];
}

/**
 * The two matrix products a training step needs, over one fixed feature table. A backend may run
 * them natively; `jsLinearOps` is the reference.
 */
export interface LinearOps {
  /** z = X W^T + b for every row of the table: `rows * outDims` values. */
  forward(params: HeadParams): Float32Array | Promise<Float32Array>;
  /**
   * dW = sum over `rowIndex[i]` of gradZ_i x_{rowIndex[i]}^T: `outDims * inDims` values.
   * `gradZ` holds one `outDims` row per entry of `rowIndex`.
   */
  weightGradient(gradZ: Float32Array, rowIndex: Int32Array): Float32Array | Promise<Float32Array>;
}

/** `LinearOps` in plain JavaScript over `features` (`rows * inDims`). */
export function jsLinearOps(features: Float32Array, rows: number): LinearOps {
  return {
    forward: (params) => linearRows(params, features, rows),
    weightGradient: (gradZ, rowIndex) => {
      const inDims = features.length / Math.max(1, rows);
      const outDims = gradZ.length / Math.max(1, rowIndex.length);
      const grad = new Float32Array(outDims * inDims);
      for (let i = 0; i < rowIndex.length; i++) {
        addOuter(grad, gradZ, i * outDims, features, rowIndex[i] * inDims, outDims, inDims);
      }
      return grad;
    },
  };
}

/** The objective's settings plus the optimiser's: step count, step size, backend, early stop. */
export interface FitOptions extends TripletLossOptions {
  steps: number;
  learningRate: number;
  linear?: LinearOps;
  /**
   * Stop early once the best objective has not dropped by more than 0.1% for this many steps
   * (left out: always run `steps`).
   */
  patience?: number;
  /** Called after each step with the objective before that step. */
  onStep?: (step: number, loss: number) => void;
}

/**
 * Minimises the objective from `initial` with full-batch Adam for at most `opts.steps` steps;
 * returns the parameters with the lowest objective seen (a copy; `initial` is untouched), that
 * objective, the objective at the start and the steps taken.
 */
export async function fitHead(
  initial: HeadParams,
  set: TripletSet,
  opts: FitOptions,
): Promise<{ params: HeadParams; loss: number; initialLoss: number; steps: number }> {
  checkShapes(initial, set, opts.anchor);
  const linear = opts.linear ?? jsLinearOps(set.features, set.rows);
  const params = cloneParams(initial);
  const adam = createAdam(params);
  let best = { params: cloneParams(params), loss: Number.POSITIVE_INFINITY };
  let initialLoss = Number.NaN;
  let lastGain = 0;

  let taken = 0;
  for (let step = 0; step <= opts.steps; step++) {
    taken = step;
    const z = await linear.forward(params);
    const { hinge, gradZ } = hingeStep(z, params.outDims, set, opts);
    const { compact, rowIndex } = activeRows(gradZ, set.rows, params.outDims);
    const gradWeight = rowIndex.length
      ? Float32Array.from(await linear.weightGradient(compact, rowIndex))
      : new Float32Array(params.weight.length);
    const gradBias = biasGradient(gradZ, set.rows, params.outDims);
    const loss = hinge + regularisation(params, opts.anchor, opts.lambda, gradWeight, gradBias);
    if (step === 0) initialLoss = loss;
    if (loss < best.loss) {
      if (loss < best.loss * 0.999) lastGain = step;
      best = { params: cloneParams(params), loss };
    }
    opts.onStep?.(step, loss);
    // The last pass only measures the final parameters.
    if (step === opts.steps) break;
    if (opts.patience !== undefined && step - lastGain >= opts.patience) break;
    adamStep(params, gradWeight, gradBias, adam, { learningRate: opts.learningRate });
  }
  return { params: best.params, loss: best.loss, initialLoss, steps: taken };
}

/** A deep copy of `params`. */
export function cloneParams(params: HeadParams): HeadParams {
  return {
    inDims: params.inDims,
    outDims: params.outDims,
    weight: Float32Array.from(params.weight),
    bias: Float32Array.from(params.bias),
  };
}

/** Hinge value and d(hinge)/dz from pre-normalisation outputs `z`. */
function hingeStep(
  z: Float32Array,
  outDims: number,
  set: TripletSet,
  opts: TripletLossOptions,
): { hinge: number; gradZ: Float32Array } {
  const { y, norms } = normaliseRows(z, set.rows, outDims);
  const gradY = new Float64Array(y.length);
  const hinge = hingeLoss(y, outDims, set, opts.margin, opts.virtualDistance, gradY);
  return { hinge, gradZ: gradThroughNorm(y, norms, gradY, set.rows, outDims) };
}

/** The rows of `gradZ` that are not all zero, packed, with their original indices. */
function activeRows(
  gradZ: Float32Array,
  rows: number,
  outDims: number,
): { compact: Float32Array; rowIndex: Int32Array } {
  const index: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outDims; o++) {
      if (gradZ[r * outDims + o] !== 0) {
        index.push(r);
        break;
      }
    }
  }
  const compact = new Float32Array(index.length * outDims);
  index.forEach((r, i) => compact.set(gradZ.subarray(r * outDims, (r + 1) * outDims), i * outDims));
  return { compact, rowIndex: Int32Array.from(index) };
}

function weightGradientJs(
  gradZ: Float32Array,
  features: Float32Array,
  rows: number,
  inDims: number,
  outDims: number,
): Float32Array {
  const grad = new Float32Array(outDims * inDims);
  for (let r = 0; r < rows; r++)
    addOuter(grad, gradZ, r * outDims, features, r * inDims, outDims, inDims);
  return grad;
}

function biasGradient(gradZ: Float32Array, rows: number, outDims: number): Float32Array {
  const grad = new Float32Array(outDims);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outDims; o++) grad[o] += gradZ[r * outDims + o];
  }
  return grad;
}

/** grad[o, :] += g[o] * x for one row: the outer product of a z-gradient row and a feature row. */
function addOuter(
  grad: Float32Array,
  g: Float32Array,
  gAt: number,
  x: Float32Array,
  xAt: number,
  outDims: number,
  inDims: number,
): void {
  for (let o = 0; o < outDims; o++) {
    const go = g[gAt + o];
    if (go === 0) continue;
    const base = o * inDims;
    for (let k = 0; k < inDims; k++) grad[base + k] += go * x[xAt + k];
  }
}

function rowDistance(y: Float64Array, a: number, b: number, dims: number): number {
  let sum = 0;
  for (let o = 0; o < dims; o++) {
    const d = y[a * dims + o] - y[b * dims + o];
    sum += d * d;
  }
  return Math.sqrt(sum);
}

function addDistanceGrad(
  gradY: Float64Array,
  y: Float64Array,
  a: number,
  b: number,
  dims: number,
  scale: number,
): void {
  for (let o = 0; o < dims; o++) {
    const d = scale * (y[a * dims + o] - y[b * dims + o]);
    gradY[a * dims + o] += d;
    gradY[b * dims + o] -= d;
  }
}

function dot(a: Float32Array, aAt: number, b: Float32Array, bAt: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < len; k += 4) {
    s0 += a[aAt + k] * b[bAt + k];
    s1 += a[aAt + k + 1] * b[bAt + k + 1];
    s2 += a[aAt + k + 2] * b[bAt + k + 2];
    s3 += a[aAt + k + 3] * b[bAt + k + 3];
  }
  for (; k < len; k++) s0 += a[aAt + k] * b[bAt + k];
  return s0 + s1 + s2 + s3;
}

function checkShapes(params: HeadParams, set: TripletSet, anchor: HeadParams): void {
  const { inDims, outDims } = params;
  if (params.weight.length !== inDims * outDims || params.bias.length !== outDims) {
    throw new RangeError(`Head weights do not match ${inDims} -> ${outDims}.`);
  }
  if (anchor.inDims !== inDims || anchor.outDims !== outDims) {
    throw new RangeError(
      `Anchor head is ${anchor.inDims} -> ${anchor.outDims}, the head is ${inDims} -> ${outDims}.`,
    );
  }
  if (set.inDims !== inDims || set.features.length !== set.rows * inDims) {
    throw new RangeError(`Triplet features are not ${set.rows} rows of ${inDims}.`);
  }
  const n = set.query.length;
  if (set.better.length !== n || set.worse.length !== n || set.weight.length !== n) {
    throw new RangeError('Triplet index and weight arrays differ in length.');
  }
  for (let t = 0; t < n; t++) {
    const q = set.query[t];
    const p = set.better[t];
    const w = set.worse[t];
    const inRange = (i: number): boolean => i >= 0 && i < set.rows;
    const ok =
      inRange(q) &&
      (p === VIRTUAL || inRange(p)) &&
      (w === VIRTUAL || inRange(w)) &&
      !(p === VIRTUAL && w === VIRTUAL);
    if (!ok) throw new RangeError(`Triplet ${t} refers to a row outside 0..${set.rows - 1}.`);
  }
}
