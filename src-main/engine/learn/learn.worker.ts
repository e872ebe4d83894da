/** Worker-thread entry of a learning job (see learn.job.ts): runs the task, posts progress and the result. */
import { parentPort, workerData } from 'node:worker_threads';
import { AppError } from '../../contract/errors';
import { executeLearnTask, type LearnTask } from './learn.job';

const { task, dbFile, modelDir } = workerData as {
  task: LearnTask;
  dbFile: string;
  modelDir: string;
};
const port = parentPort!;

executeLearnTask(task, dbFile, modelDir, (progress) =>
  port.postMessage({ type: 'progress', progress }),
).then(
  (result) => port.postMessage({ type: 'done', result }),
  (err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    port.postMessage({
      type: 'error',
      code: err instanceof AppError ? err.code : null,
      params: err instanceof AppError ? err.params : {},
      message: e.message,
      stack: e.stack,
    });
  },
);
