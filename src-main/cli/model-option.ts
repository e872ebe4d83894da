/** Resolves which model the CLI runs: `--model DIR`, else DOPPEL_MODEL_DIR, else the shipped one. */
import path from 'node:path';
import { defaultModelDir, loadModel, type LoadedModel } from '../engine/ml';

export function loadModelFromOptions(dir: string | undefined): LoadedModel {
  const chosen = dir ?? process.env.DOPPEL_MODEL_DIR ?? defaultModelDir();
  return loadModel(path.resolve(chosen));
}
