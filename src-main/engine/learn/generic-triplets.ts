/**
 * The generic evaluation shipped with the model: cached network features (never pixels) of a few
 * hundred held-out triplets (a photo, an edited copy of it, another photo), so the adoption guard
 * can check on the user's machine, without any dataset, that a new head still ranks ordinary
 * duplicates right. Rows are int8 with one float32 scale each, to stay well under 1.5 MB.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { TripletSet } from '../../core/triplet';

/** File names beside the model card. */
export const GENERIC_HEADER_FILE = 'doppel-generic-triplets.json';
export const GENERIC_DATA_FILE = 'doppel-generic-triplets.bin';

const HeaderSchema = z.object({
  format: z.literal('doppel-generic-triplets'),
  version: z.literal(1),
  networkVersion: z.string(),
  dims: z.number().int().positive(),
  /** Triplets; the data holds 3 rows per triplet: query, edited copy, other photo. */
  count: z.number().int().positive(),
  encoding: z.literal('int8-row-scaled'),
  file: z.string(),
  bytes: z.number().int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** How the set was made (photo list, edits, seed); informative only. */
  source: z.record(z.string(), z.unknown()).optional(),
});

/** The JSON header beside the data file. */
export type GenericHeader = z.infer<typeof HeaderSchema>;

/** Bytes of one encoded row: a float32 scale, then `dims` int8 values. */
function rowBytes(dims: number): number {
  return 4 + dims;
}

/**
 * Quantises `rows` feature rows (`rows * dims` values) to int8, one scale per row (its largest
 * magnitude / 127), so each value is off by at most half a step.
 */
export function encodeGenericRows(features: Float32Array, rows: number, dims: number): Uint8Array {
  if (features.length !== rows * dims) {
    throw new RangeError(`encodeGenericRows got ${features.length} values for ${rows} x ${dims}.`);
  }
  const out = new Uint8Array(rows * rowBytes(dims));
  const view = new DataView(out.buffer);
  for (let r = 0; r < rows; r++) {
    const at = r * rowBytes(dims);
    let max = 0;
    for (let k = 0; k < dims; k++) max = Math.max(max, Math.abs(features[r * dims + k]));
    const scale = max / 127;
    view.setFloat32(at, scale, true);
    for (let k = 0; k < dims; k++) {
      const q = scale > 0 ? Math.round(features[r * dims + k] / scale) : 0;
      view.setInt8(at + 4 + k, Math.max(-127, Math.min(127, q)));
    }
  }
  return out;
}

/** Reverses encodeGenericRows. Throws a RangeError when the length is not whole rows. */
export function decodeGenericRows(
  bytes: Uint8Array,
  dims: number,
): { features: Float32Array; rows: number } {
  const size = rowBytes(dims);
  if (bytes.length % size !== 0) {
    throw new RangeError(`${bytes.length} bytes is not a whole number of ${dims}-value rows.`);
  }
  const rows = bytes.length / size;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const features = new Float32Array(rows * dims);
  for (let r = 0; r < rows; r++) {
    const scale = view.getFloat32(r * size, true);
    for (let k = 0; k < dims; k++) features[r * dims + k] = scale * view.getInt8(r * size + 4 + k);
  }
  return { features, rows };
}

/**
 * Writes the header and data files into `dir` for `count` triplets whose rows (query, edited copy,
 * other photo, then the next triplet) are in `features`. Returns the header written.
 */
export function writeGenericTriplets(
  dir: string,
  networkVersion: string,
  features: Float32Array,
  count: number,
  dims: number,
  source?: Record<string, unknown>,
): GenericHeader {
  const data = encodeGenericRows(features, count * 3, dims);
  const header: GenericHeader = {
    format: 'doppel-generic-triplets',
    version: 1,
    networkVersion,
    dims,
    count,
    encoding: 'int8-row-scaled',
    file: GENERIC_DATA_FILE,
    bytes: data.length,
    sha256: crypto.createHash('sha256').update(data).digest('hex'),
    ...(source ? { source } : {}),
  };
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, GENERIC_DATA_FILE), data);
  fs.writeFileSync(path.join(dir, GENERIC_HEADER_FILE), JSON.stringify(header, null, 2) + '\n');
  return header;
}

/** The generic evaluation of a model folder, or why it cannot be used. */
export type GenericLoad =
  { ok: true; header: GenericHeader; set: TripletSet } | { ok: false; reason: string };

/**
 * Loads the generic triplets beside the model card in `modelDir`, checked against the network
 * the features must come from. Never throws: a missing or damaged file is a reason.
 */
export function loadGenericTriplets(
  modelDir: string,
  networkVersion: string,
  dims: number,
): GenericLoad {
  const headerPath = path.join(modelDir, GENERIC_HEADER_FILE);
  let header: GenericHeader;
  try {
    const parsed = HeaderSchema.safeParse(JSON.parse(fs.readFileSync(headerPath, 'utf8')));
    if (!parsed.success) return { ok: false, reason: `${headerPath} is not a valid header` };
    header = parsed.data;
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    return {
      ok: false,
      reason: missing
        ? `the model ships no generic evaluation set (${GENERIC_HEADER_FILE} is missing)`
        : `cannot read ${headerPath}: ${(err as Error).message}`,
    };
  }
  if (header.networkVersion !== networkVersion || header.dims !== dims) {
    return {
      ok: false,
      reason:
        `the generic evaluation set was made for network ${header.networkVersion} ` +
        `(${header.dims} features), not ${networkVersion} (${dims})`,
    };
  }
  return readData(modelDir, header);
}

function readData(modelDir: string, header: GenericHeader): GenericLoad {
  const dataPath = path.resolve(modelDir, header.file);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(dataPath);
  } catch (err) {
    return { ok: false, reason: `cannot read ${dataPath}: ${(err as Error).message}` };
  }
  const digest = crypto.createHash('sha256').update(bytes).digest('hex');
  if (bytes.length !== header.bytes || digest !== header.sha256) {
    return { ok: false, reason: `${dataPath} does not match its header (size or SHA-256)` };
  }
  const { features, rows } = decodeGenericRows(bytes, header.dims);
  if (rows !== header.count * 3) {
    return { ok: false, reason: `${dataPath} holds ${rows} rows, not ${header.count * 3}` };
  }
  const idx = (offset: number): Int32Array =>
    Int32Array.from({ length: header.count }, (_, t) => t * 3 + offset);
  return {
    ok: true,
    header,
    set: {
      features,
      rows,
      inDims: header.dims,
      query: idx(0),
      better: idx(1),
      worse: idx(2),
      weight: new Float32Array(header.count).fill(1),
    },
  };
}
