/** Browser mode's engine thread: an engine host served over the worker's parent port. */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../engine/log/logger';
import { serveEngine } from './engine-host';
import type { WorkerEngineOptions } from './engine-client';
import type { HostReply, HostRequest } from './protocol';
import { toWireError } from './wire-error';

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
    log.debug(`the engine could not start: ${(err as Error).stack ?? String(err)}`);
    port.postMessage({ type: 'start-failed', error: toWireError(err) } satisfies HostReply);
    process.exit(1);
  }
}
