/**
 * The model side of the evaluation, through the app's own pipeline: decodePhoto, the card's
 * views, toInputTensor, the ONNX features and the head, timed as a whole.
 */
import { readFile } from 'node:fs/promises';
import type { ViewName } from '../../src-main/core/model-card';
import { applyHead } from '../../src-main/core/head';
import { toInputTensor } from '../../src-main/core/preprocess';
import { listViews, photoDistanceSquared, type VectorSet } from '../../src-main/core/vector-set';
import { viewOf } from '../../src-main/core/views';
import { decodePhoto } from '../../src-main/engine/decode/decode';
import { createEmbedder, defaultModelDir, loadModel } from '../../src-main/engine/ml';
import type { Method } from './scoring';
import { mapPool, secondsSince } from './util';

/** Photos decoded and embedded together (each brings one input per view). */
const BATCH_PHOTOS = 16;

type LoadedModel = Awaited<ReturnType<typeof loadModel>>;

/** Every photo's embeddings, one row per view, or null where decoding failed. */
export interface Embeddings {
  views: ViewName[];
  dims: number;
  vectors: (Float32Array | null)[];
  failures: { file: string; reason: string }[];
}

/** Throughput of the model pipeline over one run. */
export interface ModelTiming {
  photos: number;
  seconds: number;
  decodeSeconds: number;
  networkSeconds: number;
}

export interface ModelHandle {
  model: LoadedModel;
  embed(files: string[], onProgress?: (done: number) => void): Promise<Embeddings>;
  timing: ModelTiming;
  dispose(): Promise<void>;
}

/** Loads the shipped model (or the one in `dir`) on CPU; throws with the loader's reason. */
export async function openModel(dir: string = defaultModelDir()): Promise<ModelHandle> {
  const model = await loadModel(dir);
  const embedder = await createEmbedder(model, 'cpu');
  // The distance compares every view of one photo with the identity view of the other, so the
  // identity view is always embedded, first.
  const views: ViewName[] = [
    'identity',
    ...(model.card.views as ViewName[]).filter((view) => view !== 'identity'),
  ];
  const timing: ModelTiming = { photos: 0, seconds: 0, decodeSeconds: 0, networkSeconds: 0 };

  const embed = async (
    files: string[],
    onProgress?: (done: number) => void,
  ): Promise<Embeddings> => {
    const result: Embeddings = { views, dims: model.head.outDims, vectors: [], failures: [] };
    const started = performance.now();
    for (let start = 0; start < files.length; start += BATCH_PHOTOS) {
      const batch = files.slice(start, start + BATCH_PHOTOS);
      const vectors = await embedBatch(model, embedder, views, batch, result, timing);
      result.vectors.push(...vectors);
      onProgress?.(Math.min(start + BATCH_PHOTOS, files.length));
    }
    timing.photos += files.length;
    timing.seconds += secondsSince(started);
    return result;
  };
  return { model, embed, timing, dispose: async () => embedder.dispose() };
}

async function embedBatch(
  model: LoadedModel,
  embedder: Awaited<ReturnType<typeof createEmbedder>>,
  views: ViewName[],
  files: string[],
  result: Embeddings,
  timing: ModelTiming,
): Promise<(Float32Array | null)[]> {
  const { card, head } = model;
  const size = card.input.size;
  const decodeStart = performance.now();
  const decoded = await mapPool(files, 4, async (file) => {
    const outcome = await decodePhoto(await readFile(file), {
      size,
      trimBorders: card.input.trimBorders,
    });
    if (!outcome.ok) result.failures.push({ file, reason: `${outcome.code}: ${outcome.detail}` });
    return outcome.ok ? outcome.rgb : null;
  });
  timing.decodeSeconds += secondsSince(decodeStart);

  const usable = decoded.filter((rgb): rgb is Buffer => rgb !== null);
  const out: (Float32Array | null)[] = decoded.map(() => null);
  if (usable.length === 0) return out;
  const networkStart = performance.now();
  const rgbs = usable.flatMap((rgb) => views.map((view) => viewOf(rgb, size, view)));
  const n = rgbs.length;
  const features = await embedder.features(
    toInputTensor(rgbs, size, card.input.mean, card.input.std),
    n,
  );
  const embedded = applyHead(head, features, n);
  timing.networkSeconds += secondsSince(networkStart);

  const perPhoto = views.length * head.outDims;
  let next = 0;
  decoded.forEach((rgb, i) => {
    if (rgb === null) return;
    out[i] = embedded.slice(next * perPhoto, (next + 1) * perPhoto);
    next++;
  });
  return out;
}

/**
 * The app's own view-aware distance (core/vector-set photoDistance: the smallest Euclidean
 * distance between any view of one photo and the identity view of the other, both ways) as a
 * scoring method; Infinity where either photo failed to decode.
 */
export function createModelMethod(
  embeddings: Embeddings,
  thresholds: { nearDuplicate: number; similar: number },
): Method {
  const set = toVectorSet(embeddings);
  const views = listViews(set);
  const failed = embeddings.vectors.map((v) => v === null);
  return {
    name: 'model',
    nearDuplicate: thresholds.nearDuplicate,
    similar: thresholds.similar,
    distance: (i, j) =>
      failed[i] || failed[j] ? Infinity : Math.sqrt(photoDistanceSquared(set, views, i, j)),
  };
}

/** Identity rows in `data`, every other view as an extra row of its photo (zeros where failed). */
function toVectorSet(embeddings: Embeddings): VectorSet {
  const { dims, vectors } = embeddings;
  const extraViews = embeddings.views.length - 1;
  const data = new Float32Array(vectors.length * dims);
  const owners = new Int32Array(vectors.length * extraViews);
  const viewData = new Float32Array(vectors.length * extraViews * dims);
  vectors.forEach((vector, i) => {
    for (let v = 0; v < extraViews; v++) owners[i * extraViews + v] = i;
    if (!vector) return;
    data.set(vector.subarray(0, dims), i * dims);
    viewData.set(vector.subarray(dims), i * extraViews * dims);
  });
  const views = extraViews > 0 ? { photo: owners, data: viewData } : undefined;
  return { dims, count: vectors.length, data, views };
}
