/**
 * Finds and checks the model in a folder: its card, the ONNX network and the head file, each
 * verified against the card (size and SHA-256) before any session is created.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../../contract/errors';
import { parseHead, type Head } from '../../core/head';
import { ModelCardSchema, type ModelCard } from '../../core/model-card';

/** The card's file name inside a model folder. */
export const MODEL_CARD_FILE = 'doppel-card.json';

/** A model whose files were all found and matched their card. */
export interface LoadedModel {
  card: ModelCard;
  /** Absolute folder holding the card. */
  dir: string;
  /** Absolute path of the ONNX network. */
  onnxPath: string;
  head: Head;
}

/**
 * Reads `<modelDir>/doppel-card.json`, validates it, and checks the network and head files against
 * it. Throws AppError MODEL_MISSING when the card or a file is absent, MODEL_CORRUPT when the
 * card is invalid or a file's size or SHA-256 differs from the card.
 */
export function loadModel(modelDir: string): LoadedModel {
  const dir = path.resolve(modelDir);
  const cardPath = path.join(dir, MODEL_CARD_FILE);
  const card = readCard(cardPath);

  const onnxPath = path.resolve(dir, card.file);
  const onnxSize = sizeOf(onnxPath);
  if (onnxSize !== card.bytes) {
    throw corrupt(onnxPath, `the file has ${onnxSize} bytes, the card says ${card.bytes}`);
  }
  checkSha256(onnxPath, card.sha256);

  const headPath = path.resolve(dir, card.head.file);
  sizeOf(headPath);
  checkSha256(headPath, card.head.sha256);
  let head: Head;
  try {
    head = parseHead(
      fs.readFileSync(headPath),
      card.head.inDims,
      card.head.outDims,
      card.head.version,
    );
  } catch (err) {
    throw corrupt(headPath, (err as Error).message);
  }
  return { card, dir, onnxPath, head };
}

/**
 * The shipped model folder: `models/` at the repository (or packaged app) root, found by walking
 * up from this file to the first folder holding a package.json, so it works from the TypeScript
 * sources and from the compiled dist/ tree alike.
 */
export function defaultModelDir(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return path.join(dir, 'models');
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  // No package.json above us (an unusual install): assume dist/src-main/engine/ml/.
  return path.resolve(__dirname, '../../../../models');
}

function readCard(cardPath: string): ModelCard {
  let text: string;
  try {
    text = fs.readFileSync(cardPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new AppError('MODEL_MISSING', { path: cardPath });
    }
    throw corrupt(cardPath, `cannot read the card: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw corrupt(cardPath, `the card is not valid JSON (${(err as Error).message})`);
  }

  const parsed = ModelCardSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? issue.path.join('.') : 'card';
    throw corrupt(cardPath, `invalid card field ${where}: ${issue.message}`);
  }
  const card = parsed.data;
  if (card.head.inDims !== card.output.dims) {
    throw corrupt(
      cardPath,
      `the head takes ${card.head.inDims} features but the network outputs ${card.output.dims}`,
    );
  }
  return card;
}

function sizeOf(file: string): number {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new AppError('MODEL_MISSING', { path: file });
  }
  if (!stat.isFile()) throw corrupt(file, 'not a regular file');
  return stat.size;
}

/** Hashes in 1 MiB reads so a large network never sits in memory twice. */
function checkSha256(file: string, expected: string): void {
  const hash = crypto.createHash('sha256');
  const chunk = Buffer.allocUnsafe(1 << 20);
  const fd = fs.openSync(file, 'r');
  try {
    for (;;) {
      const read = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      hash.update(chunk.subarray(0, read));
    }
  } finally {
    fs.closeSync(fd);
  }
  const actual = hash.digest('hex');
  if (actual !== expected) {
    throw corrupt(file, `its SHA-256 is ${actual}, the card says ${expected}`);
  }
}

function corrupt(file: string, detail: string): AppError {
  return new AppError('MODEL_CORRUPT', { path: file, detail });
}
