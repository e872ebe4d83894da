/**
 * A scan in its own thread. Pausing blocks this thread at the next progress point (Atomics.wait
 * on the shared control word), so no file is read while paused and nothing done is lost.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AppError, CancellationError } from '../contract/errors';
import { openDatabase } from '../engine/db/database';
import { loadModel } from '../engine/ml/model-loader';
import { scanLibrary } from '../engine/scan/scan.service';
import { SCAN_CONTROL, type ScanWorkerData, type ScanWorkerMessage } from './scan.worker-types';

/**
 * Progress messages sent at most this often, so a fast scan cannot flood the host.
 * Limitation: a pause takes effect at the scan's next progress point (the next file read or the
 * next embedded batch), so the batch on the network when the user pauses still finishes.
 */
const PROGRESS_EVERY_MS = 100;

async function run(data: ScanWorkerData): Promise<ScanWorkerMessage> {
  const controller = new AbortController();
  let lastSent = 0;
  const waitWhilePaused = (): void => {
    while (Atomics.load(data.control, 0) === SCAN_CONTROL.paused) {
      Atomics.wait(data.control, 0, SCAN_CONTROL.paused, 1000);
    }
    if (Atomics.load(data.control, 0) === SCAN_CONTROL.cancelled) controller.abort();
  };
  const db = openDatabase(data.dbFile);
  try {
    const summary = await scanLibrary(db, data.roots, {
      exclude: data.exclude,
      provider: data.provider,
      model: loadModel(data.modelDir),
      signal: controller.signal,
      onProgress: (p) => {
        waitWhilePaused();
        const now = Date.now();
        if (now - lastSent < PROGRESS_EVERY_MS && p.phase !== 'done') return;
        lastSent = now;
        post({ type: 'progress', phase: p.phase, done: p.done, total: p.total });
      },
    });
    return { type: 'done', summary };
  } catch (err) {
    if (err instanceof CancellationError) return { type: 'cancelled' };
    if (err instanceof AppError) return { type: 'failed', code: err.code, message: err.message };
    return {
      type: 'failed',
      code: 'INTERNAL',
      message: err instanceof Error ? err.message : String(err),
    };
  } finally {
    db.close();
  }
}

function post(message: ScanWorkerMessage): void {
  parentPort?.postMessage(message);
}

if (parentPort) {
  void run(workerData as ScanWorkerData).then(post);
}
