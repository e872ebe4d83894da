/**
 * The baselines every other de-duplicator uses: pHash, dHash and dupeGuru-like colour blocks,
 * computed from the same files as the model, decoded with sharp after EXIF orientation.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import {
  blockDistance,
  colourBlocks,
  dHash,
  DHASH_HEIGHT,
  DHASH_WIDTH,
  pHash,
  PHASH_SIDE,
  popCount32,
  toGrey,
} from '../../src-main/core/phash';
import type { Method } from './scoring';
import { mapPool } from './util';

const run = promisify(execFile);

/** Colour blocks are averaged from the photo at most this large (never enlarged). */
const BLOCK_SOURCE_MAX_SIDE = 512;

/**
 * The thresholds these methods are used with in practice: a Hamming distance of 10 for both
 * hashes, and dupeGuru's default filter hardness of 95 for blocks (similarity = 100 - integer part
 * of the mean block difference, so a mean difference below 6 matches).
 */
export const BASELINE_THRESHOLDS = { pHash: 10, dHash: 10, blocks: 6 - 1e-9 } as const;

export type HashRecord =
  { ok: true; pHash: bigint; dHash: bigint; blocks: Float64Array } | { ok: false; reason: string };

/** Hashes every file (a few in flight); a file that cannot be decoded gets a reason instead. */
export async function hashPhotos(files: string[], heicCacheDir: string): Promise<HashRecord[]> {
  await mkdir(heicCacheDir, { recursive: true });
  return mapPool(files, 4, async (file) => {
    try {
      return await hashPhoto(file, heicCacheDir);
    } catch (error) {
      return { ok: false, reason: (error as Error).message };
    }
  });
}

async function hashPhoto(file: string, heicCacheDir: string): Promise<HashRecord> {
  const input = /\.(heic|heif)$/i.test(file) ? await heicAsPng(file, heicCacheDir) : file;
  const upright = sharp(await readFile(input)).rotate();
  const fill = { fit: 'fill' } as const;
  const inside = { fit: 'inside', withoutEnlargement: true } as const;
  const [small, tiny, whole] = await Promise.all([
    rawOf(upright.clone().resize(PHASH_SIDE, PHASH_SIDE, fill)),
    rawOf(upright.clone().resize(DHASH_WIDTH, DHASH_HEIGHT, fill)),
    rawOf(upright.clone().resize(BLOCK_SOURCE_MAX_SIDE, BLOCK_SOURCE_MAX_SIDE, inside)),
  ]);
  return {
    ok: true,
    pHash: pHash(toGrey(small.data, small.info.channels)),
    dHash: dHash(toGrey(tiny.data, tiny.info.channels)),
    blocks: colourBlocks(whole.data, whole.info.width, whole.info.height, whole.info.channels),
  };
}

async function rawOf(image: sharp.Sharp): Promise<{ data: Buffer; info: sharp.OutputInfo }> {
  return image.removeAlpha().raw().toBuffer({ resolveWithObject: true });
}

/**
 * sharp's prebuilt libvips has no HEVC decoder, so HEIC files go through Debian's heif-convert
 * (the same libheif) once, cached as PNG under the hash of their bytes.
 */
async function heicAsPng(file: string, cacheDir: string): Promise<string> {
  const key = createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
  const target = path.join(cacheDir, `${key}.png`);
  if (existsSync(target)) return target;
  // Written aside and renamed, so an interrupted run never leaves a half-written cache entry.
  const partial = path.join(cacheDir, `${key}.${process.pid}.partial.png`);
  await run('heif-convert', [file, partial]);
  await rename(partial, target);
  return target;
}

/** The three baselines as scoring methods over `records` (indexed like the set's items). */
export function createBaselineMethods(records: HashRecord[]): Method[] {
  const ok = (i: number): boolean => records[i].ok;
  const get = <K extends 'pHash' | 'dHash' | 'blocks'>(i: number, key: K) =>
    (records[i] as Extract<HashRecord, { ok: true }>)[key];
  // Hamming distances over bigints are slow in bulk: split each hash into two 32-bit words once.
  const words = (key: 'pHash' | 'dHash'): Uint32Array => {
    const out = new Uint32Array(records.length * 2);
    records.forEach((record, i) => {
      if (!record.ok) return;
      out[i * 2] = Number(record[key] & 0xffffffffn);
      out[i * 2 + 1] = Number(record[key] >> 32n);
    });
    return out;
  };
  const hamming = (key: 'pHash' | 'dHash', threshold: number): Method => {
    const packed = words(key);
    return {
      name: key,
      nearDuplicate: threshold,
      similar: threshold,
      distance: (i, j) =>
        ok(i) && ok(j)
          ? popCount32(packed[i * 2] ^ packed[j * 2]) +
            popCount32(packed[i * 2 + 1] ^ packed[j * 2 + 1])
          : Infinity,
    };
  };
  return [
    hamming('pHash', BASELINE_THRESHOLDS.pHash),
    hamming('dHash', BASELINE_THRESHOLDS.dHash),
    {
      name: 'blocks',
      nearDuplicate: BASELINE_THRESHOLDS.blocks,
      similar: BASELINE_THRESHOLDS.blocks,
      distance: (i, j) =>
        ok(i) && ok(j) ? blockDistance(get(i, 'blocks'), get(j, 'blocks')) : Infinity,
    },
  ];
}
