/**
 * The desktop app's engine process (an Electron utility process): the same engine host as browser
 * mode's worker thread, served over the process's parent port. Started by main with `--db=FILE`.
 */
import { createLogger } from '../engine/log/logger';
import { serveEngine } from '../server/engine-host';
import type { HostReply, HostRequest } from '../server/protocol';
import { toWireError } from '../server/wire-error';

const log = createLogger('engine-process');

function argValue(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

const port = process.parentPort;
const dbFile = argValue('db');
if (!port || !dbFile) {
  log.error('the engine process needs a parent port and --db=FILE');
  process.exit(1);
}
try {
  serveEngine(
    {
      onMessage: (listener) =>
        port.on('message', (e: Electron.MessageEvent) => listener(e.data as HostRequest)),
      postMessage: (message) => port.postMessage(message),
    },
    { dbFile, modelDir: argValue('model') },
  );
} catch (err) {
  log.error('the engine could not start', err);
  port.postMessage({ type: 'start-failed', error: toWireError(err) } satisfies HostReply);
  process.exit(1);
}
