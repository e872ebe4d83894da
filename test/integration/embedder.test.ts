import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src-main/contract/errors';
import { applyHead } from '../../src-main/core/head';
import { toInputTensor } from '../../src-main/core/preprocess';
import {
  createEmbedder,
  defaultModelDir,
  loadModel,
  providerChain,
  type Embedder,
  type LoadedModel,
} from '../../src-main/engine/ml';

const FIXTURE_DIR = path.resolve(__dirname, '../fixtures/tiny-model');
const SIZE = 32;

/** The input make-tiny-model.py fed torch: byte i is (i * 37 + 11) % 256. */
function patternRgb(): Buffer {
  const rgb = Buffer.alloc(SIZE * SIZE * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 37 + 11) % 256;
  return rgb;
}

function randomRgb(seed: number): Buffer {
  const rgb = Buffer.alloc(SIZE * SIZE * 3);
  let s = seed;
  for (let i = 0; i < rgb.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    rgb[i] = s >>> 24;
  }
  return rgb;
}

/** Copies the fixture model into a temp folder, so a test can break one file. */
function copyFixture(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'doppel-model-'));
  for (const name of fs.readdirSync(FIXTURE_DIR)) {
    fs.copyFileSync(path.join(FIXTURE_DIR, name), path.join(dir, name));
  }
  return dir;
}

function errorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof AppError ? err.code : `not an AppError: ${String(err)}`;
  }
  return 'no error';
}

const tempDirs: string[] = [];
afterAll(() => tempDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
function tempModel(): string {
  const dir = copyFixture();
  tempDirs.push(dir);
  return dir;
}

describe('loadModel', () => {
  it('loads the tiny fixture model with its card and head', () => {
    const model = loadModel(FIXTURE_DIR);
    expect(model.card.input.size).toBe(SIZE);
    expect(model.card.output.dims).toBe(24);
    expect(model.onnxPath).toBe(path.join(FIXTURE_DIR, 'tiny-model.onnx'));
    expect(model.head.weight.length).toBe(24 * 8);
    expect(model.head.version).toBe('tiny-head-1');
  });

  it('reports MODEL_MISSING for a folder without a card, and for a missing network', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'doppel-nomodel-'));
    tempDirs.push(empty);
    expect(errorCode(() => loadModel(empty))).toBe('MODEL_MISSING');

    const dir = tempModel();
    fs.rmSync(path.join(dir, 'tiny-model.onnx'));
    expect(errorCode(() => loadModel(dir))).toBe('MODEL_MISSING');
    const headless = tempModel();
    fs.rmSync(path.join(headless, 'tiny-head.bin'));
    expect(errorCode(() => loadModel(headless))).toBe('MODEL_MISSING');
  });

  it('reports MODEL_CORRUPT when a file differs from the card', () => {
    const flipped = tempModel();
    const onnx = path.join(flipped, 'tiny-model.onnx');
    const bytes = fs.readFileSync(onnx);
    bytes[bytes.length - 1] ^= 0xff;
    fs.writeFileSync(onnx, bytes);
    expect(errorCode(() => loadModel(flipped))).toBe('MODEL_CORRUPT');

    const cut = tempModel();
    fs.truncateSync(path.join(cut, 'tiny-model.onnx'), 100);
    expect(() => loadModel(cut)).toThrow(/the file has 100 bytes, the card says/);

    const wrongSha = tempModel();
    const cardPath = path.join(wrongSha, 'doppel-card.json');
    const card = JSON.parse(fs.readFileSync(cardPath, 'utf8'));
    card.sha256 = '0'.repeat(64);
    fs.writeFileSync(cardPath, JSON.stringify(card));
    expect(() => loadModel(wrongSha)).toThrow(/SHA-256 is [0-9a-f]{64}, the card says 0{64}/);

    const badHead = tempModel();
    fs.appendFileSync(path.join(badHead, 'tiny-head.bin'), Buffer.alloc(4));
    expect(errorCode(() => loadModel(badHead))).toBe('MODEL_CORRUPT');
  });

  it('names the invalid card field', () => {
    const dir = tempModel();
    const cardPath = path.join(dir, 'doppel-card.json');
    const card = JSON.parse(fs.readFileSync(cardPath, 'utf8'));
    card.input.size = 'big';
    fs.writeFileSync(cardPath, JSON.stringify(card));
    expect(() => loadModel(dir)).toThrow(/invalid card field input\.size/);
    fs.writeFileSync(cardPath, '{ not json');
    expect(() => loadModel(dir)).toThrow(/not valid JSON/);
  });

  it('finds the repository models/ folder by default', () => {
    expect(defaultModelDir()).toBe(path.resolve(__dirname, '../../models'));
  });
});

describe('createEmbedder on the tiny model', () => {
  let model: LoadedModel;
  let embedder: Embedder;

  beforeAll(async () => {
    model = loadModel(FIXTURE_DIR);
    embedder = await createEmbedder(model, 'cpu', { threads: 1 });
  }, 30_000);
  afterAll(async () => {
    await embedder?.dispose();
  });

  it('runs on cpu with no warnings', () => {
    expect(embedder.provider).toBe('cpu');
    expect(embedder.warnings).toEqual([]);
  });

  it('matches the features torch computed for the fixed input', async () => {
    const expected = JSON.parse(
      fs.readFileSync(path.join(FIXTURE_DIR, 'expected-features.json'), 'utf8'),
    ).features as number[];
    const { mean, std } = model.card.input;
    const out = await embedder.features(toInputTensor([patternRgb()], SIZE, mean, std), 1);
    expect(out.length).toBe(24);
    out.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 4));
  });

  it('returns n x dims features, the same for the same input in any batch', async () => {
    const { mean, std } = model.card.input;
    const rgbs = [1, 2, 3, 4, 5].map(randomRgb);
    const batch = toInputTensor(rgbs, SIZE, mean, std);
    const first = await embedder.features(batch, 5);
    const second = await embedder.features(batch, 5);
    expect(first.length).toBe(5 * 24);
    expect(Array.from(second)).toEqual(Array.from(first));
    expect(batch.length).toBe(5 * 3 * SIZE * SIZE);

    const alone = await embedder.features(toInputTensor([rgbs[3]], SIZE, mean, std), 1);
    Array.from(alone).forEach((v, i) => expect(v).toBeCloseTo(first[3 * 24 + i], 5));
    expect(Array.from(first.slice(0, 24))).not.toEqual(Array.from(first.slice(24, 48)));

    const embeddings = applyHead(model.head, first, 5);
    const norm = Math.hypot(...embeddings.slice(0, 8));
    expect(norm).toBeCloseTo(1, 5);
  });

  it('keeps the calling thread free while the network runs', async () => {
    const { mean, std } = model.card.input;
    const n = 1024;
    const input = toInputTensor([randomRgb(11)], SIZE, mean, std);
    const big = new Float32Array(n * input.length);
    for (let i = 0; i < n; i++) big.set(input, i * input.length);

    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 2);
    const started = performance.now();
    await embedder.features(big, n);
    const elapsed = performance.now() - started;
    clearInterval(timer);
    // A run on this thread would block the timer for its whole length (tens of ms here).
    expect(elapsed).toBeGreaterThan(20);
    expect(ticks).toBeGreaterThanOrEqual(3);
  });

  it('refuses an input of the wrong length', async () => {
    await expect(embedder.features(new Float32Array(10), 1)).rejects.toThrow(/expected n \* 3/);
  });

  it('runs concurrent calls one after another with the right results', async () => {
    const { mean, std } = model.card.input;
    const inputs = [7, 8, 9].map((s) => toInputTensor([randomRgb(s)], SIZE, mean, std));
    const together = await Promise.all(inputs.map((x) => embedder.features(x, 1)));
    for (let i = 0; i < inputs.length; i++) {
      expect(Array.from(await embedder.features(inputs[i], 1))).toEqual(Array.from(together[i]));
    }
  });
});

describe('execution providers', () => {
  it('maps each setting through one table per platform', () => {
    expect(providerChain('auto', 'linux')).toEqual(['cuda', 'cpu']);
    expect(providerChain('auto', 'win32')).toEqual(['dml', 'cpu']);
    expect(providerChain('auto', 'darwin')).toEqual(['cpu']);
    expect(providerChain('dml', 'linux')).toEqual([]);
    expect(providerChain('cuda', 'darwin')).toEqual([]);
  });

  it.runIf(process.platform === 'linux')(
    'auto falls back to cpu with a warning when CUDA cannot load',
    async () => {
      const embedder = await createEmbedder(loadModel(FIXTURE_DIR), 'auto', { threads: 1 });
      try {
        // Where the CUDA provider is installed and a GPU present, auto keeps CUDA instead.
        if (embedder.provider === 'cuda') return;
        expect(embedder.provider).toBe('cpu');
        expect(embedder.warnings).toHaveLength(1);
        expect(embedder.warnings[0]).toMatch(/^CUDA is not available \(.+\); trying the next/);
        const out = await embedder.features(new Float32Array(3 * SIZE * SIZE), 1);
        expect(out.length).toBe(24);
      } finally {
        await embedder.dispose();
      }
    },
  );

  it('an explicit cuda that cannot run is PROVIDER_UNAVAILABLE with the reason', async () => {
    const cudaWorks = await createEmbedder(loadModel(FIXTURE_DIR), 'cuda').then(
      async (e) => (await e.dispose(), true),
      (err: unknown) => err,
    );
    if (cudaWorks === true) return; // a machine with the CUDA provider installed
    expect(cudaWorks).toBeInstanceOf(AppError);
    const err = cudaWorks as AppError;
    expect(err.code).toBe('PROVIDER_UNAVAILABLE');
    expect(err.message).toMatch(/^Execution provider cuda is not available on this machine: .+/);
  });

  it('dml off Windows is PROVIDER_UNAVAILABLE, never a silent cpu', async () => {
    if (process.platform === 'win32') return;
    await expect(createEmbedder(loadModel(FIXTURE_DIR), 'dml')).rejects.toThrow(
      /dml is not available on this machine: DirectML exists only on Windows/,
    );
  });

  it('a network whose input differs from the card is MODEL_CORRUPT', async () => {
    const dir = tempModel();
    const cardPath = path.join(dir, 'doppel-card.json');
    const card = JSON.parse(fs.readFileSync(cardPath, 'utf8'));
    card.input.name = 'image';
    fs.writeFileSync(cardPath, JSON.stringify(card));
    await expect(createEmbedder(loadModel(dir), 'cpu')).rejects.toThrow(
      /no input "image" \(it has: pixels\)/,
    );
  });

  it('dispose releases the session; later calls reject and a second dispose is harmless', async () => {
    const embedder = await createEmbedder(loadModel(FIXTURE_DIR), 'cpu', { threads: 1 });
    await embedder.dispose();
    await embedder.dispose();
    await expect(embedder.features(new Float32Array(3 * SIZE * SIZE), 1)).rejects.toThrow(
      /disposed/,
    );
  });
});
