/**
 * The shipped network, run by onnxruntime-node, reproduces the features PyTorch computed at export
 * (models/parity.json) within the stored tolerance (1e-4), at the dynamic batch sizes it promises.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyHead } from '../../src-main/core/head';
import { defaultModelDir, loadModel, type LoadedModel } from '../../src-main/engine/ml';

interface ParityFixture {
  onnx: string;
  input: string;
  output: string;
  shape: [number, number, number, number];
  tolerance: number;
  features: number[][];
}

const MODELS = defaultModelDir();

/** The input parity.json describes, computed in float64 and rounded to float32 like the export. */
function parityInput(n: number, c: number, size: number): Float32Array {
  const x = new Float32Array(n * c * size * size);
  let k = 0;
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < size; i++)
        for (let j = 0; j < size; j++)
          x[k++] = 0.5 + 0.5 * Math.sin(0.01 * (i + 1) * (ch + 1) + 0.02 * j + 0.7 * b);
  return x;
}

describe('shipped model parity (onnxruntime-node vs PyTorch)', () => {
  let fx: ParityFixture;
  let model: LoadedModel;
  let session: ort.InferenceSession;

  beforeAll(async () => {
    fx = JSON.parse(fs.readFileSync(path.join(MODELS, 'parity.json'), 'utf8')) as ParityFixture;
    model = loadModel(MODELS);
    session = await ort.InferenceSession.create(model.onnxPath, {
      intraOpNumThreads: 2,
      executionProviders: ['cpu'],
    });
  });

  it('the fixture names the network the card ships', () => {
    expect(fx.onnx).toBe(model.card.file);
    expect(fx.shape[2]).toBe(model.card.input.size);
    expect(fx.features[0]).toHaveLength(model.card.output.dims);
    expect(fs.statSync(model.onnxPath).size).toBeLessThan(20 * 1024 * 1024);
  });

  it('agrees with the PyTorch features within the tolerance', async () => {
    const [n, c, size] = [fx.shape[0], fx.shape[1], fx.shape[2]];
    const out = await session.run({
      [fx.input]: new ort.Tensor('float32', parityInput(n, c, size), fx.shape),
    });
    const got = out[fx.output]!.data as Float32Array;
    expect(got.length).toBe(n * fx.features[0]!.length);
    let maxDiff = 0;
    fx.features.flat().forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - got[i]!))));
    expect(fx.tolerance).toBeLessThanOrEqual(1e-4);
    expect(maxDiff).toBeLessThanOrEqual(fx.tolerance);
  });

  it('gives each photo the same features alone as inside a batch (dynamic batch axis)', async () => {
    const [n, c, size] = [fx.shape[0], fx.shape[1], fx.shape[2]];
    const all = parityInput(n, c, size);
    const per = c * size * size;
    const dims = fx.features[0]!.length;
    const second = all.slice(per, 2 * per);
    const out = await session.run({
      [fx.input]: new ort.Tensor('float32', second, [1, c, size, size]),
    });
    const got = out[fx.output]!.data as Float32Array;
    expect(got.length).toBe(dims);
    let maxDiff = 0;
    fx.features[1]!.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - got[i]!))));
    expect(maxDiff).toBeLessThanOrEqual(fx.tolerance);
  });

  it('the shipped head turns the features into unit-length embeddings', () => {
    const features = Float32Array.from(fx.features[0]!);
    const e = applyHead(model.head, features, 1);
    expect(e.length).toBe(model.card.head.outDims);
    const norm = Math.hypot(...e);
    expect(norm).toBeCloseTo(1, 5);
  });
});
