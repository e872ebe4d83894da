/**
 * Runs the head's matrix products fast: onnxruntime's CPU kernels (SIMD, all cores) over two
 * one-node graphs built in memory, with the plain JavaScript of core/ as the fallback. Re-embedding
 * 100,000 photos is 19 billion multiply-adds, which JavaScript alone does in about half a minute.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import type * as Ort from 'onnxruntime-node';
import type { Head } from '../../core/head';
import { jsLinearOps, linearRows, type HeadParams, type LinearOps } from '../../core/triplet';
import { createLogger } from '../log/logger';
import { LINEAR_IO, WEIGHT_GRADIENT_IO, linearGraph, weightGradientGraph } from './onnx-graph';

const log = createLogger('head-runner');

// The head graphs have no model file and no provider choice (CPU only), so they run in their own
// sessions here rather than through the Embedder interface.

/** Where the head's products run. */
export interface HeadBackend {
  readonly name: 'onnxruntime' | 'javascript';
  /** z = X W^T + b for `rows` feature rows: `rows * outDims` values. */
  linear(params: HeadParams, features: Float32Array, rows: number): Promise<Float32Array>;
  /** G^T X for `k` rows of z-gradients (`k * outDims`) and features (`k * inDims`). */
  weightGradient(
    gradZ: Float32Array,
    features: Float32Array,
    k: number,
    outDims: number,
    inDims: number,
  ): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/**
 * Opens onnxruntime sessions for the head graphs; falls back to JavaScript (logging why) when
 * onnxruntime cannot load. `prefer: 'javascript'` skips onnxruntime.
 */
export async function createHeadBackend(
  opts: { prefer?: 'onnxruntime' | 'javascript'; threads?: number } = {},
): Promise<HeadBackend> {
  if (opts.prefer === 'javascript') return javascriptBackend();
  try {
    // Loaded on demand: a missing native binary must fall back, not fail the whole module.
    const ort = createRequire(__filename)('onnxruntime-node') as typeof Ort;
    const options: Ort.InferenceSession.SessionOptions = {
      executionProviders: ['cpu'],
      intraOpNumThreads: opts.threads ?? Math.max(1, Math.min(8, os.availableParallelism())),
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    };
    const linear = await ort.InferenceSession.create(linearGraph(), options);
    const gradient = await ort.InferenceSession.create(weightGradientGraph(), options);
    return onnxBackend(ort, linear, gradient);
  } catch (err) {
    log.warn(`onnxruntime unavailable for the head, using JavaScript: ${(err as Error).message}`);
    return javascriptBackend();
  }
}

function onnxBackend(
  ort: typeof Ort,
  linear: Ort.InferenceSession,
  gradient: Ort.InferenceSession,
): HeadBackend {
  const tensor = (data: Float32Array, dims: number[]): Ort.Tensor =>
    new ort.Tensor('float32', data, dims);
  const take = (result: Ort.InferenceSession.ReturnType, name: string): Float32Array => {
    const out = result[name];
    const data = Float32Array.from(out.data as Float32Array);
    out.dispose();
    return data;
  };
  return {
    name: 'onnxruntime',
    async linear(params, features, rows) {
      if (rows === 0) return new Float32Array(0);
      const io = LINEAR_IO;
      const result = await linear.run({
        [io.features]: tensor(features, [rows, params.inDims]),
        [io.weight]: tensor(params.weight, [params.outDims, params.inDims]),
        [io.bias]: tensor(params.bias, [params.outDims]),
      });
      return take(result, io.output);
    },
    async weightGradient(gradZ, features, k, outDims, inDims) {
      if (k === 0) return new Float32Array(outDims * inDims);
      const io = WEIGHT_GRADIENT_IO;
      const result = await gradient.run({
        [io.gradZ]: tensor(gradZ, [k, outDims]),
        [io.features]: tensor(features, [k, inDims]),
      });
      return take(result, io.output);
    },
    async dispose() {
      await linear.release();
      await gradient.release();
    },
  };
}

function javascriptBackend(): HeadBackend {
  return {
    name: 'javascript',
    linear: async (params, features, rows) => linearRows(params, features, rows),
    weightGradient: async (gradZ, features, k) => {
      const all = Int32Array.from({ length: k }, (_, i) => i);
      return jsLinearOps(features, k).weightGradient(gradZ, all) as Float32Array;
    },
    dispose: async () => undefined,
  };
}

/** `LinearOps` for training over one feature table, through `backend`. */
export function backendLinearOps(
  backend: HeadBackend,
  features: Float32Array,
  rows: number,
  inDims: number,
): LinearOps {
  return {
    forward: (params) => backend.linear(params, features, rows),
    weightGradient: (gradZ, rowIndex) => {
      const picked = new Float32Array(rowIndex.length * inDims);
      rowIndex.forEach((r, i) =>
        picked.set(features.subarray(r * inDims, (r + 1) * inDims), i * inDims),
      );
      const outDims = gradZ.length / Math.max(1, rowIndex.length);
      return backend.weightGradient(gradZ, picked, rowIndex.length, outDims, inDims);
    },
  };
}

/**
 * Embeds `rows` feature rows with `head` through `backend`: unit-length rows as core/head's
 * applyHead gives (a zero row stays zero), up to float rounding in the matrix product.
 */
export async function embedRows(
  backend: HeadBackend,
  head: Head,
  features: Float32Array,
  rows: number,
): Promise<Float32Array> {
  const z = await backend.linear(head, features, rows);
  const dims = head.outDims;
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let o = 0; o < dims; o++) sum += z[r * dims + o] * z[r * dims + o];
    const scale = sum > 0 ? 1 / Math.sqrt(sum) : 0;
    for (let o = 0; o < dims; o++) z[r * dims + o] *= scale;
  }
  return z;
}
