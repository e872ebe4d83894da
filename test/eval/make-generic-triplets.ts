/**
 * Builds the generic evaluation shipped with the model (models/doppel-generic-triplets.json and
 * .bin): for held-out training photos, the network features of the photo, of an edited copy of it
 * (re-encoded, cropped, resized, rotated a little, recoloured, greyed or letterboxed) and of
 * another held-out photo, through the app's own decode and embedder. Features only, no pixels.
 *
 *   npm run build && node dist/test/eval/make-generic-triplets.js [--count 150] [--model DIR]
 *     [--holdout models/train/holdout.txt] [--data ../shared/datasets/train] [--out DIR]
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { normaliseRows, rankingAccuracy, linearRows } from '../../src-main/core/triplet';
import { toInputTensor } from '../../src-main/core/preprocess';
import { decodePhoto } from '../../src-main/engine/decode/decode';
import {
  GENERIC_DATA_FILE,
  GENERIC_HEADER_FILE,
  loadGenericTriplets,
  writeGenericTriplets,
} from '../../src-main/engine/learn/generic-triplets';
import { createEmbedder, loadModel, type LoadedModel } from '../../src-main/engine/ml';
import { createRng, findRepoRoot, seedOf, shuffled } from './util';

/** Edits an edited copy may get; geometric flips are left out (the evaluation uses the identity view). */
export const EDIT_KINDS = [
  'jpeg',
  'crop',
  'resize',
  'rotate',
  'colour',
  'grey',
  'letterbox',
] as const;
export type EditKind = (typeof EDIT_KINDS)[number];

export interface GenericBuildOptions {
  modelDir: string;
  /** Candidate photos (absolute paths), in a stable order; queries and negatives come from here. */
  photos: string[];
  count: number;
  outDir: string;
  seed?: number;
  onProgress?: (done: number, total: number) => void;
  /** Recorded in the header. */
  source?: Record<string, unknown>;
}

export interface GenericBuildResult {
  count: number;
  bytes: number;
  skipped: { file: string; reason: string }[];
  edits: Record<string, number>;
  /** Share ranked right by the model's own head, on the quantised features as stored. */
  shippedAccuracy: number;
}

/** Makes an edited copy of `input` (encoded JPEG bytes) of kind `kind`, seeded by `rng`. */
export async function editPhoto(input: Buffer, kind: EditKind, rng: () => number): Promise<Buffer> {
  const image = sharp(input).rotate();
  const meta = await image.metadata();
  const width = meta.autoOrient?.width ?? meta.width ?? 1;
  const height = meta.autoOrient?.height ?? meta.height ?? 1;
  switch (kind) {
    case 'jpeg':
      return image.jpeg({ quality: 20 + Math.floor(rng() * 40) }).toBuffer();
    case 'crop': {
      const keep = 0.7 + rng() * 0.2;
      const w = Math.max(8, Math.round(width * keep));
      const h = Math.max(8, Math.round(height * keep));
      const left = Math.floor(rng() * (width - w + 1));
      const top = Math.floor(rng() * (height - h + 1));
      return image.extract({ left, top, width: w, height: h }).jpeg({ quality: 90 }).toBuffer();
    }
    case 'resize': {
      const scale = 0.3 + rng() * 0.4;
      return image
        .resize(Math.max(16, Math.round(width * scale)))
        .jpeg({ quality: 85 })
        .toBuffer();
    }
    case 'rotate':
      return image
        .rotate((rng() < 0.5 ? -1 : 1) * (2 + rng() * 6), { background: '#000' })
        .jpeg({ quality: 90 })
        .toBuffer();
    case 'colour':
      return image
        .modulate({
          brightness: 0.75 + rng() * 0.5,
          saturation: 0.6 + rng() * 0.8,
          hue: Math.round(rng() * 30 - 15),
        })
        .jpeg({ quality: 90 })
        .toBuffer();
    case 'grey':
      return image.greyscale().jpeg({ quality: 90 }).toBuffer();
    case 'letterbox': {
      const pad = Math.round(Math.max(width, height) * (0.08 + rng() * 0.12));
      return image
        .extend({ top: pad, bottom: pad, left: 0, right: 0, background: '#000' })
        .jpeg({ quality: 90 })
        .toBuffer();
    }
    default: {
      const unknown: never = kind;
      throw new Error(`Unhandled edit kind: ${String(unknown)}`);
    }
  }
}

/**
 * Builds and writes the generic triplets for the model in `opts.modelDir`. Photos that fail to
 * decode are skipped and reported; throws when fewer than `count` triplets can be made.
 */
export async function buildGenericTriplets(opts: GenericBuildOptions): Promise<GenericBuildResult> {
  const model = loadModel(opts.modelDir);
  const seed = opts.seed ?? 20260601;
  const order = shuffled(opts.photos, createRng(seed));
  const embedder = await createEmbedder(model, 'cpu', { threads: 2 });
  const skipped: GenericBuildResult['skipped'] = [];
  const edits: Record<string, number> = {};
  const rows: Float32Array[] = [];
  try {
    // Each triplet takes its query at position i and its negative at i + 1 in the shuffled
    // order, so no two triplets share a query and a negative is always another photo.
    for (let i = 0; i + 1 < order.length && rows.length / 3 < opts.count; i += 2) {
      const rng = createRng(seedOf(path.basename(order[i])) ^ seed);
      const kind = EDIT_KINDS[Math.floor(rng() * EDIT_KINDS.length)];
      const triplet = await embedTriplet(model, embedder, order[i], order[i + 1], kind, rng);
      if (typeof triplet === 'string') {
        skipped.push({ file: order[i], reason: triplet });
        continue;
      }
      rows.push(...triplet);
      edits[kind] = (edits[kind] ?? 0) + 1;
      opts.onProgress?.(rows.length / 3, opts.count);
    }
  } finally {
    await embedder.dispose();
  }
  const count = rows.length / 3;
  if (count < opts.count) {
    throw new Error(
      `only ${count} of ${opts.count} triplets could be made (${skipped.length} photos failed)`,
    );
  }
  const dims = model.card.output.dims;
  const data = new Float32Array(rows.length * dims);
  rows.forEach((r, i) => data.set(r, i * dims));
  const header = writeGenericTriplets(opts.outDir, model.card.networkVersion, data, count, dims, {
    ...opts.source,
    seed,
    edits,
  });
  return {
    count,
    bytes: header.bytes,
    skipped,
    edits,
    shippedAccuracy: shippedAccuracy(model, opts.outDir),
  };
}

/** Features of the query, its edited copy and the negative; a string says why it failed. */
async function embedTriplet(
  model: LoadedModel,
  embedder: Awaited<ReturnType<typeof createEmbedder>>,
  queryFile: string,
  negativeFile: string,
  kind: EditKind,
  rng: () => number,
): Promise<Float32Array[] | string> {
  const { card } = model;
  const size = card.input.size;
  let query: Buffer;
  let negative: Buffer;
  let edited: Buffer;
  try {
    query = fs.readFileSync(queryFile);
    negative = fs.readFileSync(negativeFile);
    edited = await editPhoto(query, kind, rng);
  } catch (err) {
    return (err as Error).message;
  }
  const rgbs: Buffer[] = [];
  for (const bytes of [query, edited, negative]) {
    const decoded = await decodePhoto(bytes, { size, trimBorders: card.input.trimBorders });
    if (!decoded.ok) return `${decoded.code}: ${decoded.detail}`;
    rgbs.push(decoded.rgb);
  }
  const features = await embedder.features(
    toInputTensor(rgbs, size, card.input.mean, card.input.std),
    3,
  );
  const dims = card.output.dims;
  return [0, 1, 2].map((r) => features.slice(r * dims, (r + 1) * dims));
}

function shippedAccuracy(model: LoadedModel, dir: string): number {
  const loaded = loadGenericTriplets(dir, model.card.networkVersion, model.card.output.dims);
  if (!loaded.ok) throw new Error(loaded.reason);
  const { set } = loaded;
  const { y } = normaliseRows(
    linearRows(model.head, set.features, set.rows),
    set.rows,
    model.head.outDims,
  );
  return rankingAccuracy(y, model.head.outDims, set, model.card.thresholds.similar);
}

/** Relative paths from a hold-out list (one per line; blank lines and # comments ignored). */
export function readHoldoutList(file: string): string[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

function argValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const root = findRepoRoot(__dirname);
  const modelDir = path.resolve(argValue(args, '--model') ?? path.join(root, 'models'));
  const holdout = path.resolve(
    argValue(args, '--holdout') ?? path.join(root, 'models', 'train', 'holdout.txt'),
  );
  const data = path.resolve(
    argValue(args, '--data') ?? path.join(root, '..', 'shared', 'datasets', 'train'),
  );
  const outDir = path.resolve(argValue(args, '--out') ?? modelDir);
  const count = Number(argValue(args, '--count') ?? 150);
  if (!fs.existsSync(holdout)) throw new Error(`hold-out list not found: ${holdout}`);
  if (!fs.existsSync(data)) throw new Error(`training photos not found: ${data}`);
  const rels = readHoldoutList(holdout);
  const photos = rels.map((r) => path.join(data, r)).filter((p) => fs.existsSync(p));
  process.stderr.write(
    `${photos.length} of ${rels.length} hold-out photos found; building ${count} triplets\n`,
  );
  const started = performance.now();
  const result = await buildGenericTriplets({
    modelDir,
    photos,
    count,
    outDir,
    onProgress: (done, total) => {
      if (done % 25 === 0) process.stderr.write(`${done}/${total}\n`);
    },
    source: { holdout: path.relative(root, holdout), photos: 'datasets/train/<relpath>' },
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(
    `Wrote ${path.join(outDir, GENERIC_HEADER_FILE)} and ${GENERIC_DATA_FILE}: ${result.count} triplets, ` +
      `${result.bytes} bytes, edits ${JSON.stringify(result.edits)}, ${result.skipped.length} photos skipped, ` +
      `shipped head ranks ${(result.shippedAccuracy * 100).toFixed(1)}% right, ${seconds} s\n`,
  );
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`make-generic-triplets: ${(err as Error).message}\n`);
    process.exitCode = 1;
  });
}
