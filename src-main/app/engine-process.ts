/** Starts the engine in an Electron utility process and returns the main side's client. */
import path from 'node:path';
import { utilityProcess } from 'electron';
import { EngineClient } from '../server/engine-client';
import type { HostReply } from '../server/protocol';

export function startEngineProcess(options: { dbFile: string; modelDir?: string }): EngineClient {
  const args = [
    `--db=${options.dbFile}`,
    ...(options.modelDir ? [`--model=${options.modelDir}`] : []),
  ];
  const child = utilityProcess.fork(path.join(__dirname, 'engine.utility.js'), args, {
    serviceName: 'Doppel engine',
    stdio: 'inherit',
  });
  let exitListener: (detail: string) => void = () => undefined;
  child.on('exit', (code) => exitListener(`the engine process exited with code ${code}`));
  return new EngineClient({
    post: (message) => child.postMessage(message),
    onMessage: (listener) => child.on('message', (message: HostReply) => listener(message)),
    onExit: (listener) => (exitListener = listener),
    terminate: async () => {
      child.kill();
    },
  });
}
