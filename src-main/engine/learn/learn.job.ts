/**
 * Runs a learning task (train, or switch head) off the calling thread, in a worker that opens the
 * database itself, so the process serving the UI stays responsive; progress comes back as messages.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { AppError, CancellationError, type ErrorCode } from '../../contract/errors';
import { openDatabase } from '../db/database';
import { createLogger } from '../log/logger';
import { loadModel } from '../ml/model-loader';
import { switchHead, type HeadSwitchReport, type LearnProgress } from './head.service';
import { trainFromLabels, type TrainReport, type TrainSettings } from './train.service';

const log = createLogger('learn-job');

/** What a learning job does. */
export type LearnTask =
  { kind: 'train'; settings?: Partial<TrainSettings> } | { kind: 'switch-head'; version: number };

/** Where a learning job finds its database and model, and how it reports. */
export interface LearnJobOptions {
  /** The database file (not `:memory:`: the worker opens it too). */
  dbFile: string;
  /** Folder of the shipped model card. */
  modelDir: string;
  onProgress?: (p: LearnProgress) => void;
  signal?: AbortSignal;
  /** Run on this thread instead (tests running from TypeScript sources, where no worker file exists). */
  inThread?: boolean;
}

/** Messages from the worker. */
type WorkerMessage =
  | { type: 'progress'; progress: LearnProgress }
  | { type: 'done'; result: TrainReport | HeadSwitchReport }
  | {
      type: 'error';
      code: ErrorCode | null;
      params: Record<string, string | number>;
      message: string;
      stack?: string;
    };

/** The compiled worker beside this file (absent when running from the TypeScript sources). */
const WORKER_FILE = path.join(__dirname, 'learn.worker.js');

/**
 * Runs `task` in a worker thread and resolves with its report. Rejects with the task's AppError,
 * or CancellationError when `signal` aborts (the worker is stopped; an unfinished adoption rolls back).
 */
export function runLearnJob(
  task: { kind: 'train'; settings?: Partial<TrainSettings> },
  opts: LearnJobOptions,
): Promise<TrainReport>;
export function runLearnJob(
  task: { kind: 'switch-head'; version: number },
  opts: LearnJobOptions,
): Promise<HeadSwitchReport>;
export function runLearnJob(
  task: LearnTask,
  opts: LearnJobOptions,
): Promise<TrainReport | HeadSwitchReport> {
  const inThread = opts.inThread ?? !fs.existsSync(WORKER_FILE);
  if (inThread) {
    log.debug('running the learning task on the calling thread');
    return executeLearnTask(task, opts.dbFile, opts.modelDir, opts.onProgress);
  }
  log.debug('running the learning task in a worker thread');
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_FILE, {
      workerData: { task, dbFile: opts.dbFile, modelDir: opts.modelDir },
    });
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = (): void => {
      void worker.terminate();
      settle(() => reject(new CancellationError()));
    };
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort);
    worker.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'progress') opts.onProgress?.(msg.progress);
      else if (msg.type === 'done') settle(() => resolve(msg.result));
      else settle(() => reject(rebuildError(msg)));
    });
    worker.on('error', (err) => settle(() => reject(err)));
    worker.on('exit', (code) =>
      settle(() =>
        reject(new AppError('LEARN_FAILED', { detail: `the worker exited (code ${code})` })),
      ),
    );
  });
}

/**
 * Does the work of a learning task on the calling thread: opens the database and the model,
 * runs the task, closes the database. What the worker runs.
 */
export async function executeLearnTask(
  task: LearnTask,
  dbFile: string,
  modelDir: string,
  onProgress?: (p: LearnProgress) => void,
): Promise<TrainReport | HeadSwitchReport> {
  const shipped = loadModel(modelDir);
  const db = openDatabase(dbFile);
  try {
    switch (task.kind) {
      case 'train':
        return await trainFromLabels(db, shipped, { settings: task.settings, onProgress });
      case 'switch-head':
        return await switchHead(db, shipped, task.version, { onProgress });
      default: {
        const unknown: never = task;
        throw new Error(`Unhandled learning task: ${JSON.stringify(unknown)}`);
      }
    }
  } finally {
    db.close();
  }
}

function rebuildError(msg: Extract<WorkerMessage, { type: 'error' }>): Error {
  if (msg.code) return new AppError(msg.code, msg.params);
  const err = new Error(msg.message);
  if (msg.stack) err.stack = msg.stack;
  return err;
}
