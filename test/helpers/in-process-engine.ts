/**
 * An engine host in the test's own thread, behind the same client and message protocol the
 * worker thread uses: lets tests drive the HTTP server from TypeScript sources without a build.
 */
import { EngineClient } from '../../src-main/server/engine-client';
import { serveEngine, type EngineHost } from '../../src-main/server/engine-host';
import type { HostReply, HostRequest } from '../../src-main/server/protocol';

export function startInProcessEngine(options: { dbFile: string; modelDir?: string }): {
  client: EngineClient;
  host: EngineHost;
} {
  let toClient: (message: HostReply) => void = noop;
  let toHost: (message: HostRequest) => void = () => undefined;
  const pendingReplies: HostReply[] = [];
  const host = serveEngine(
    {
      onMessage: (listener) => (toHost = listener),
      // Replies are delivered asynchronously, as a real port would.
      postMessage: (message) => {
        const copy = structuredClone(message);
        setImmediate(() => (toClient === noop ? pendingReplies.push(copy) : toClient(copy)));
      },
    },
    options,
  );
  let exit: (detail: string) => void = () => undefined;
  const client = new EngineClient({
    post: (message) => setImmediate(() => toHost(structuredClone(message))),
    onMessage: (listener) => {
      toClient = listener;
      for (const m of pendingReplies.splice(0)) listener(m);
    },
    onExit: (listener) => (exit = listener),
    terminate: async () => exit('closed'),
  });
  return { client, host };
}

function noop(): void {}
