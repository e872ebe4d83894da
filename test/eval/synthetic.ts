/**
 * The synthetic near-duplicate set: held-out photos, one edited copy of each per kind, and
 * unrelated held-out photos as distractors. Generated into .eval/ and reused while its recipe holds.
 */
import { createHash } from 'node:crypto';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { createRng, mapPool, seedOf, shuffled } from './util';

const run = promisify(execFile);

/** Every edit the synthetic set applies, in table order. */
export const SYNTHETIC_KINDS = [
  'resize',
  'jpeg-q40',
  'png',
  'webp',
  'heic',
  'brightness-contrast',
  'watermark',
  'greyscale',
  'rotate3-crop',
  'perspective',
  'crop80',
  'crop60',
  'mirror',
  'letterbox',
  'rot90',
  'rot90-exif',
] as const;
export type SyntheticKind = (typeof SYNTHETIC_KINDS)[number];

/** Bump when any edit changes, so cached copies are made again. */
const GENERATOR_VERSION = 6;
/** Copies that are not a format change are written as JPEG at this quality. */
const COPY_JPEG_QUALITY = 92;

export interface SyntheticOptions {
  trainDir: string;
  holdoutFile: string;
  outDir: string;
  originals: number;
  distractors: number;
  seed: number;
}

/** The generated set; every path is absolute; a copy is null where making it failed. */
export interface SyntheticSet {
  originals: string[];
  distractors: string[];
  copies: Record<SyntheticKind, (string | null)[]>;
  /** Kinds that could not be made at all on this machine, with the reason. */
  skippedKinds: { kind: SyntheticKind; reason: string }[];
  /** Held-out files that were unreadable and left out of the selection. */
  unreadable: string[];
  holdoutCount: number;
}

interface Manifest {
  key: string;
  originals: string[];
  distractors: string[];
  copies: Record<string, (string | null)[]>;
  skippedKinds: { kind: SyntheticKind; reason: string }[];
  unreadable: string[];
  holdoutCount: number;
}

interface Upright {
  data: Buffer;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

/**
 * Returns the synthetic set, generating it into `outDir` unless a manifest with the same recipe
 * (holdout list, counts, seed, generator version) and all its files are already there.
 */
export async function prepareSyntheticSet(
  options: SyntheticOptions,
  log: (line: string) => void,
): Promise<SyntheticSet> {
  const holdout = await readHoldout(options.holdoutFile, options.trainDir);
  const key = createHash('sha256')
    .update(
      JSON.stringify([GENERATOR_VERSION, options.originals, options.distractors, options.seed]),
    )
    .update(holdout.join('\n'))
    .digest('hex');
  const manifestPath = path.join(options.outDir, 'manifest.json');
  const cached = await readManifest(manifestPath, key, options.outDir);
  if (cached) {
    log(`synthetic set: reusing ${options.outDir}`);
    return toSet(cached, options);
  }

  await rm(options.outDir, { recursive: true, force: true });
  await mkdir(options.outDir, { recursive: true });
  const manifest = await generate(options, holdout, key, log);
  await writeFile(manifestPath, JSON.stringify(manifest, null, 1));
  return toSet(manifest, options);
}

async function readHoldout(holdoutFile: string, trainDir: string): Promise<string[]> {
  const text = await readFile(holdoutFile, 'utf8');
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const present = lines.filter((rel) => existsSync(path.join(trainDir, rel)));
  if (present.length === 0) {
    throw new Error(`${holdoutFile} lists no file that exists under ${trainDir}`);
  }
  return present.sort();
}

async function readManifest(file: string, key: string, outDir: string): Promise<Manifest | null> {
  if (!existsSync(file)) return null;
  const manifest = JSON.parse(await readFile(file, 'utf8')) as Manifest;
  if (manifest.key !== key) return null;
  const allThere = Object.values(manifest.copies)
    .flat()
    .every((rel) => rel === null || existsSync(path.join(outDir, rel)));
  return allThere ? manifest : null;
}

function toSet(manifest: Manifest, options: SyntheticOptions): SyntheticSet {
  const copies = {} as Record<SyntheticKind, (string | null)[]>;
  for (const kind of SYNTHETIC_KINDS) {
    const rels = manifest.copies[kind] ?? manifest.originals.map(() => null);
    copies[kind] = rels.map((rel) => (rel === null ? null : path.join(options.outDir, rel)));
  }
  return {
    originals: manifest.originals.map((rel) => path.join(options.trainDir, rel)),
    distractors: manifest.distractors.map((rel) => path.join(options.trainDir, rel)),
    copies,
    skippedKinds: manifest.skippedKinds,
    unreadable: manifest.unreadable,
    holdoutCount: manifest.holdoutCount,
  };
}

async function generate(
  options: SyntheticOptions,
  holdout: string[],
  key: string,
  log: (line: string) => void,
): Promise<Manifest> {
  const order = shuffled(holdout, createRng(options.seed));
  const wanted = options.originals + options.distractors;
  const picked: string[] = [];
  const unreadable: string[] = [];
  const sources = new Set<string>();
  for (const rel of order) {
    if (picked.length >= wanted) break;
    if (sources.has(sourceOf(rel))) continue;
    if (!(await isReadable(path.join(options.trainDir, rel)))) {
      unreadable.push(rel);
      continue;
    }
    picked.push(rel);
    sources.add(sourceOf(rel));
  }
  if (picked.length < wanted) {
    log(`synthetic set: only ${picked.length} readable held-out photos for ${wanted} wanted`);
  }
  const originalCount = Math.min(options.originals, Math.ceil(picked.length / 2));
  const originals = picked.slice(0, originalCount);
  const distractors = picked.slice(originalCount);

  const skippedKinds: Manifest['skippedKinds'] = [];
  if (!hasCommand('heif-enc')) {
    skippedKinds.push({ kind: 'heic', reason: 'heif-enc not found (Debian: libheif-examples)' });
    log('synthetic set: skipping heic copies: heif-enc not found (Debian: libheif-examples)');
  }
  if (!hasCommand('convert')) {
    skippedKinds.push({ kind: 'perspective', reason: 'convert not found (Debian: imagemagick)' });
    log('synthetic set: skipping perspective copies: convert not found (Debian: imagemagick)');
  }
  const kinds = SYNTHETIC_KINDS.filter((kind) => !skippedKinds.some((s) => s.kind === kind));
  for (const kind of kinds) await mkdir(path.join(options.outDir, kind), { recursive: true });

  log(`synthetic set: making ${kinds.length} copies of ${originals.length} originals`);
  const copies: Record<string, (string | null)[]> = {};
  for (const kind of SYNTHETIC_KINDS) copies[kind] = originals.map(() => null);
  let failures = 0;
  await mapPool(originals, 2, async (rel, index) => {
    const upright = await readUpright(path.join(options.trainDir, rel));
    for (const kind of kinds) {
      const name = `${String(index).padStart(4, '0')}.${extensionOf(kind)}`;
      const target = path.join(options.outDir, kind, name);
      try {
        await makeCopy(kind, upright, createRng(seedOf(`${kind}:${rel}`)), target);
        copies[kind][index] = path.join(kind, name);
      } catch (error) {
        failures++;
        log(`synthetic set: ${kind} copy of ${rel} failed: ${(error as Error).message}`);
      }
    }
  });
  log(`synthetic set: done (${failures} copies failed)`);
  return {
    key,
    originals,
    distractors,
    copies,
    skippedKinds,
    unreadable,
    holdoutCount: holdout.length,
  };
}

/**
 * Photos that are edits of one another share a source and never both enter the set, or a pair of
 * near-duplicates would count as unrelated. face-mask-mini's `with_mask/N-with-mask.jpg` is
 * `without_mask/N.jpg` with a mask painted on.
 */
function sourceOf(rel: string): string {
  const mask = /^face-mask-mini\/with(?:out)?_mask\/(\d+)(?:-with-mask)?\.jpg$/.exec(rel);
  return mask ? `face-mask-mini:${mask[1]}` : rel;
}

async function isReadable(file: string): Promise<boolean> {
  try {
    const meta = await sharp(file).metadata();
    return (meta.width ?? 0) >= 16 && (meta.height ?? 0) >= 16;
  } catch {
    return false;
  }
}

function hasCommand(command: string): boolean {
  const probe = spawnSync(command, ['--help'], { stdio: 'ignore' });
  return !(probe.error && (probe.error as NodeJS.ErrnoException).code === 'ENOENT');
}

async function readUpright(file: string): Promise<Upright> {
  const { data, info } = await sharp(file).rotate().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

function fromUpright(image: Upright): sharp.Sharp {
  const { width, height, channels } = image;
  return sharp(image.data, { raw: { width, height, channels } });
}

function extensionOf(kind: SyntheticKind): string {
  switch (kind) {
    case 'png':
      return 'png';
    case 'webp':
      return 'webp';
    case 'heic':
      return 'heic';
    default:
      return 'jpg';
  }
}

/** Writes one edited copy of `image` to `target`; random choices come from `rng` only. */
async function makeCopy(
  kind: SyntheticKind,
  image: Upright,
  rng: () => number,
  target: string,
): Promise<void> {
  const { width, height } = image;
  const jpeg = { quality: COPY_JPEG_QUALITY };
  switch (kind) {
    case 'resize':
      await fromUpright(image)
        .resize(Math.max(1, Math.round(width / 2)), Math.max(1, Math.round(height / 2)), {
          fit: 'fill',
        })
        .jpeg(jpeg)
        .toFile(target);
      return;
    case 'jpeg-q40':
      await fromUpright(image).jpeg({ quality: 40 }).toFile(target);
      return;
    case 'png':
      await fromUpright(image).png().toFile(target);
      return;
    case 'webp':
      await fromUpright(image).webp({ quality: 80 }).toFile(target);
      return;
    case 'heic':
      await writeHeic(image, target);
      return;
    case 'brightness-contrast': {
      const contrast = 1 + sign(rng) * (0.15 + 0.15 * rng());
      const brightness = sign(rng) * (15 + 25 * rng());
      await fromUpright(image)
        .linear(contrast, 128 * (1 - contrast) + brightness)
        .jpeg(jpeg)
        .toFile(target);
      return;
    }
    case 'watermark':
      await fromUpright(image)
        .composite([{ input: Buffer.from(watermarkSvg(width, height, rng)) }])
        .jpeg(jpeg)
        .toFile(target);
      return;
    case 'greyscale':
      await fromUpright(image).greyscale().jpeg(jpeg).toFile(target);
      return;
    case 'rotate3-crop':
      await writeRotatedCrop(image, sign(rng) * 3, target);
      return;
    case 'perspective':
      await writePerspective(image, rng, target);
      return;
    case 'crop80':
    case 'crop60': {
      // The share is of the area (as in "a crop to 80% of the photo"), same shape, random place.
      const keep = Math.sqrt(kind === 'crop80' ? 0.8 : 0.6);
      const cropWidth = Math.round(width * keep);
      const cropHeight = Math.round(height * keep);
      const left = Math.floor(rng() * (width - cropWidth + 1));
      const top = Math.floor(rng() * (height - cropHeight + 1));
      await fromUpright(image)
        .extract({ left, top, width: cropWidth, height: cropHeight })
        .jpeg(jpeg)
        .toFile(target);
      return;
    }
    case 'mirror':
      await fromUpright(image).flop().jpeg(jpeg).toFile(target);
      return;
    case 'letterbox':
      await fromUpright(image)
        .extend({ ...letterboxPadding(width, height, rng), background: { r: 0, g: 0, b: 0 } })
        .jpeg(jpeg)
        .toFile(target);
      return;
    case 'rot90':
      await fromUpright(image).rotate(90).jpeg(jpeg).toFile(target);
      return;
    case 'rot90-exif':
      // Upright pixels plus orientation 6: a viewer turns them 90 degrees clockwise to display,
      // so the copy displays exactly like the rot90 copy.
      await fromUpright(image).jpeg(jpeg).withMetadata({ orientation: 6 }).toFile(target);
      return;
    default:
      throw new Error(`unknown synthetic kind: ${kind satisfies never}`);
  }
}

function sign(rng: () => number): number {
  return rng() < 0.5 ? -1 : 1;
}

/**
 * A keystone like a photo of the same scene taken a little off-axis: one side of the frame shrinks
 * by 4-8% of the height at each corner (ImageMagick's perspective distortion, edges extended, so
 * no black wedges), then 4% is trimmed all round.
 */
async function writePerspective(image: Upright, rng: () => number, target: string): Promise<void> {
  const { width: w, height: h } = image;
  const d = Math.round(h * (0.04 + 0.04 * rng()));
  const leftSide = rng() < 0.5;
  // Control points: source x,y then destination x,y for the four corners.
  const corners = leftSide
    ? [0, 0, 0, d, w, 0, w, 0, w, h, w, h, 0, h, 0, h - d]
    : [0, 0, 0, 0, w, 0, w, d, w, h, w, h - d, 0, h, 0, h];
  const source = `${target}.source.png`;
  await fromUpright(image).png().toFile(source);
  const trimX = Math.round(w * 0.04);
  const trimY = Math.round(h * 0.04);
  try {
    await run('convert', [
      source,
      '-virtual-pixel',
      'edge',
      '-distort',
      'Perspective',
      corners.join(','),
      '-crop',
      `${w - 2 * trimX}x${h - 2 * trimY}+${trimX}+${trimY}`,
      '+repage',
      '-quality',
      '92',
      `jpeg:${target}`,
    ]);
  } finally {
    await rm(source, { force: true });
  }
}

async function writeHeic(image: Upright, target: string): Promise<void> {
  const source = `${target}.source.png`;
  await fromUpright(image).png().toFile(source);
  try {
    await run('heif-enc', ['-q', '50', source, '-o', target]);
  } finally {
    await rm(source, { force: true });
  }
}

/**
 * Rotates by `degrees` and keeps the largest centred rectangle of the original shape that holds
 * no background corner (less a pixel each side for the interpolated edge).
 */
async function writeRotatedCrop(image: Upright, degrees: number, target: string): Promise<void> {
  const { width, height } = image;
  const rotated = await fromUpright(image)
    .rotate(degrees, { background: { r: 0, g: 0, b: 0 } })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const radians = (Math.abs(degrees) * Math.PI) / 180;
  const cos = Math.cos(radians);
  const sin = Math.sin(radians);
  const scale = Math.min(
    width / (width * cos + height * sin),
    height / (width * sin + height * cos),
  );
  const cropWidth = Math.floor(width * scale) - 2;
  const cropHeight = Math.floor(height * scale) - 2;
  const { info } = rotated;
  await sharp(rotated.data, {
    raw: { width: info.width, height: info.height, channels: info.channels },
  })
    .extract({
      left: Math.floor((info.width - cropWidth) / 2),
      top: Math.floor((info.height - cropHeight) / 2),
      width: cropWidth,
      height: cropHeight,
    })
    .jpeg({ quality: COPY_JPEG_QUALITY })
    .toFile(target);
}

/** Black bars that bring the photo to 16:9 or 1:1 (whichever differs clearly from its shape). */
function letterboxPadding(
  width: number,
  height: number,
  rng: () => number,
): { top: number; bottom: number; left: number; right: number } {
  const aspect = width / height;
  let target = rng() < 0.5 ? 16 / 9 : 1;
  if (Math.abs(aspect - target) / target < 0.12) target = target === 1 ? 16 / 9 : 1;
  if (aspect < target) {
    const pad = Math.round(height * target) - width;
    return { top: 0, bottom: 0, left: Math.floor(pad / 2), right: Math.ceil(pad / 2) };
  }
  const pad = Math.round(width / target) - height;
  return { top: Math.floor(pad / 2), bottom: Math.ceil(pad / 2), left: 0, right: 0 };
}

const WATERMARK_TEXTS = ['© 2024 Doppel', 'SAMPLE', 'photo: J. Smith', '@doppel.photos'];

/** A semi-transparent text watermark in a random corner or across the middle. */
function watermarkSvg(width: number, height: number, rng: () => number): string {
  const text = WATERMARK_TEXTS[Math.floor(rng() * WATERMARK_TEXTS.length)];
  // Glyphs of this font are about 0.6 em wide; keep the text within 80% of the width.
  const fontSize = Math.max(
    8,
    Math.round(Math.min(height * 0.1, (width * 0.8) / (text.length * 0.6))),
  );
  const spots = [
    { x: width * 0.04, y: height * 0.96 - fontSize * 0.2, anchor: 'start' },
    { x: width * 0.96, y: height * 0.96 - fontSize * 0.2, anchor: 'end' },
    { x: width * 0.04, y: height * 0.04 + fontSize, anchor: 'start' },
    { x: width / 2, y: height / 2 + fontSize / 3, anchor: 'middle' },
  ];
  const spot = spots[Math.floor(rng() * spots.length)];
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<text x="${spot.x.toFixed(1)}" y="${spot.y.toFixed(1)}" text-anchor="${spot.anchor}" ` +
    `font-family="DejaVu Sans" font-weight="bold" font-size="${fontSize}" fill="white" ` +
    `fill-opacity="0.7" stroke="black" stroke-opacity="0.5" stroke-width="1">` +
    `${escapeXml(text)}</text></svg>`
  );
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
