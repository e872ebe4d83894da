/** Browser mode's engine thread: an engine host served over the worker's parent port. */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../engine/log/logger';
import { serveEngine } from './engine-host';
import type { WorkerEngineOptions } from './engine-client';
import type { HostRequest } from './protocol';

const log = createLogger('engine-worker');

if (parentPort) {
  const port = parentPort;
  const options = workerData as WorkerEngineOptions;
  try {
    serveEngine(
      {
        onMessage: (listener) => port.on('message', (m: HostRequest) => listener(m)),
        postMessage: (message) => port.postMessage(message),
      },
      options,
    );
  } catch (err) {
    // Opening the database failed: say why and end the thread, so the client reports it.
    log.error('the engine could not start', err);
    process.exit(1);
  }
}
