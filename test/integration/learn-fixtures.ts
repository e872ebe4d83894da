/**
 * Synthetic "photos" for the learning tests: network features built from a scene part, a burst
 * part (what changes between frames of a burst) and an edit part (what an edited copy changes),
 * with a shipped head that barely sees the burst part, so burst frames come out as duplicates
 * while a user may think otherwise. Also writes a model folder that loadModel accepts.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Head } from '../../src-main/core/head';
import type { ModelCard } from '../../src-main/core/model-card';
import type { Db } from '../../src-main/engine/db/database';
import { PhotoRepository } from '../../src-main/engine/db/photo.repository';
import { writeGenericTriplets } from '../../src-main/engine/learn/generic-triplets';
import type { LoadedModel } from '../../src-main/engine/ml/model-loader';

export const SCENE_DIMS = 32;
export const BURST_DIMS = 8;
export const EDIT_DIMS = 8;
export const FEATURE_DIMS = SCENE_DIMS + BURST_DIMS + EDIT_DIMS;
export const EMBED_DIMS = 16;
export const NETWORK_VERSION = 'synthetic-net-1';
export const HEAD_VERSION = 'synthetic-head-1';

/** Deterministic normal samples (Box-Muller over a 32-bit LCG). */
export function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const uniform = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 1) / 2 ** 32;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** The shipped head: sees the scene well, the burst part hardly, the edit part a little more. */
export function shippedHead(seed = 1): Head {
  const g = gaussian(seed);
  const weight = new Float32Array(EMBED_DIMS * FEATURE_DIMS);
  for (let o = 0; o < EMBED_DIMS; o++) {
    for (let k = 0; k < FEATURE_DIMS; k++) {
      const scale = k < SCENE_DIMS ? 1 : k < SCENE_DIMS + BURST_DIMS ? 0.05 : 0.12;
      weight[o * FEATURE_DIMS + k] = (g() * scale) / Math.sqrt(SCENE_DIMS);
    }
  }
  return {
    version: HEAD_VERSION,
    inDims: FEATURE_DIMS,
    outDims: EMBED_DIMS,
    weight,
    bias: new Float32Array(EMBED_DIMS),
  };
}

export type PhotoKind = 'original' | 'edited' | 'burst';

/** One synthetic photo: a scene, what kind of shot it is, and its network features. */
export interface SyntheticPhoto {
  name: string;
  scene: number;
  kind: PhotoKind;
  features: Float32Array;
}

/**
 * For each of `scenes` scenes: an original, an edited copy (same burst part, new edit part) and
 * another frame of the same burst (new burst part, no edit).
 */
export function makeScenes(scenes: number, seed: number): SyntheticPhoto[] {
  const g = gaussian(seed);
  const photos: SyntheticPhoto[] = [];
  for (let s = 0; s < scenes; s++) {
    const scene = Array.from({ length: SCENE_DIMS }, g);
    const burst = Array.from({ length: BURST_DIMS }, g);
    const make = (kind: PhotoKind): SyntheticPhoto => {
      const f = new Float32Array(FEATURE_DIMS);
      for (let k = 0; k < SCENE_DIMS; k++) f[k] = scene[k] + (kind === 'original' ? 0 : 0.05 * g());
      for (let k = 0; k < BURST_DIMS; k++)
        f[SCENE_DIMS + k] = kind === 'burst' ? burst[k] + 2 * g() : burst[k];
      for (let k = 0; k < EDIT_DIMS; k++)
        f[SCENE_DIMS + BURST_DIMS + k] = kind === 'edited' ? g() : 0;
      return { name: `scene${String(s).padStart(3, '0')}-${kind}`, scene: s, kind, features: f };
    };
    photos.push(make('original'), make('edited'), make('burst'));
  }
  return photos;
}

/** The content hash a synthetic photo is stored under. */
export function hashOf(photo: SyntheticPhoto): string {
  return crypto.createHash('sha256').update(photo.name).digest('hex');
}

/**
 * Stores `photos` as scanned photos under `root` (rows `ok`, identity features of the network),
 * writing each as a small file so paths exist. Returns path by photo name.
 */
export function seedLibrary(db: Db, root: string, photos: SyntheticPhoto[]): Map<string, string> {
  const repo = new PhotoRepository(db);
  const paths = new Map<string, string>();
  fs.mkdirSync(root, { recursive: true });
  const scanId = Number(
    db
      .prepare(`INSERT INTO scans (started_at, roots, status) VALUES (?, ?, 'completed')`)
      .run(new Date().toISOString(), JSON.stringify([root])).lastInsertRowid,
  );
  repo.transaction(() => {
    for (const photo of photos) {
      const file = path.join(root, `${photo.name}.jpg`);
      fs.writeFileSync(file, photo.name);
      const id = repo.upsertPending(
        undefined,
        { path: file, pathBytes: Buffer.from(file), size: 10, mtimeMs: 1 },
        scanId,
      );
      repo.setOk(id, hashOf(photo), {
        format: 'jpeg',
        width: 100,
        height: 100,
        takenAt: null,
        camera: null,
        orientation: null,
        burstId: null,
        contentId: null,
        exifFields: 0,
      });
      repo.putFeatures(hashOf(photo), NETWORK_VERSION, 'identity', photo.features);
      paths.set(photo.name, file);
    }
  });
  return paths;
}

/** The card of the synthetic model (thresholds suit its distances). */
export function syntheticCard(networkBytes: Uint8Array, headBytes: Uint8Array): ModelCard {
  const sha = (b: Uint8Array): string => crypto.createHash('sha256').update(b).digest('hex');
  return {
    name: 'doppel-synthetic-test',
    networkVersion: NETWORK_VERSION,
    file: 'network.onnx',
    sha256: sha(networkBytes),
    bytes: networkBytes.length,
    input: {
      name: 'pixels',
      size: 32,
      layout: 'NCHW',
      mean: [0, 0, 0],
      std: [1, 1, 1],
      resize: 'fill',
      trimBorders: false,
    },
    output: { name: 'features', dims: FEATURE_DIMS },
    head: {
      file: 'head.bin',
      version: HEAD_VERSION,
      inDims: FEATURE_DIMS,
      outDims: EMBED_DIMS,
      sha256: sha(headBytes),
    },
    views: ['identity'],
    thresholds: { nearDuplicate: 0.35, similar: 0.6 },
    training: { gap: 0.2 },
  };
}

/**
 * Writes a model folder loadModel accepts (the network file is a placeholder: learning never runs
 * the network) plus generic triplets made from `genericPhotos` (original, edited copy, and the
 * original of the next scene). Returns the loaded model.
 */
export function writeSyntheticModel(
  dir: string,
  head: Head,
  genericPhotos: SyntheticPhoto[],
): LoadedModel {
  fs.mkdirSync(dir, { recursive: true });
  const network = new TextEncoder().encode(
    'placeholder network: learning reads cached features only',
  );
  const headBytes = new Uint8Array((head.weight.length + head.bias.length) * 4);
  const view = new DataView(headBytes.buffer);
  [...head.weight, ...head.bias].forEach((v, i) => view.setFloat32(i * 4, v, true));
  fs.writeFileSync(path.join(dir, 'network.onnx'), network);
  fs.writeFileSync(path.join(dir, 'head.bin'), headBytes);
  const card = syntheticCard(network, headBytes);
  fs.writeFileSync(path.join(dir, 'doppel-card.json'), JSON.stringify(card, null, 2));
  if (genericPhotos.length) writeGenericFromScenes(dir, genericPhotos);
  return { card, dir, onnxPath: path.join(dir, 'network.onnx'), head };
}

/** Generic triplets: (original, its edited copy, the original of the next scene). */
export function writeGenericFromScenes(dir: string, photos: SyntheticPhoto[]): number {
  const originals = photos.filter((p) => p.kind === 'original');
  const edited = new Map(photos.filter((p) => p.kind === 'edited').map((p) => [p.scene, p]));
  const rows: Float32Array[] = [];
  originals.forEach((o, i) => {
    const other = originals[(i + 1) % originals.length];
    rows.push(o.features, edited.get(o.scene)!.features, other.features);
  });
  const data = new Float32Array(rows.length * FEATURE_DIMS);
  rows.forEach((r, i) => data.set(r, i * FEATURE_DIMS));
  writeGenericTriplets(dir, NETWORK_VERSION, data, originals.length, FEATURE_DIMS);
  return originals.length;
}
