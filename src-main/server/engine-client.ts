/**
 * The serving side's handle on the engine host: sends calls over a message port, matches replies
 * by id, gives each call a timeout, and drains open calls before closing. The transport (a worker
 * thread here, an Electron utility process in the app) is injected.
 */
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Channel, Envelope, EventMap, EventName, WireError } from '../contract/ipc';
import type { HostReply, HostRequest, MediaResolution } from './protocol';

/** How long one call may take before the caller gets a timeout envelope (scans are jobs). */
export const CALL_TIMEOUT_MS = 120_000;

/** The minimal transport: post a request, hear replies, hear the other end die. */
export interface ClientTransport {
  post(message: HostRequest): void;
  onMessage(listener: (message: HostReply) => void): void;
  onExit(listener: (detail: string) => void): void;
  terminate(): Promise<void>;
}

interface Pending {
  resolve: (value: unknown) => void;
  timer: NodeJS.Timeout;
  fallback: () => unknown;
}

export class EngineClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly events = new EventEmitter();
  private dead: string | null = null;
  /** Why the host could not start, once `ready` resolved; null when it runs. */
  startError: WireError | null = null;
  readonly ready: Promise<void>;

  constructor(private readonly transport: ClientTransport) {
    let markReady: () => void = () => undefined;
    this.ready = new Promise((resolve) => (markReady = resolve));
    transport.onMessage((message) => {
      if (message.type === 'ready') return markReady();
      if (message.type === 'start-failed') {
        this.startError = message.error;
        return markReady();
      }
      if (message.type === 'event') return void this.events.emit(message.name, message.payload);
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      clearTimeout(waiter.timer);
      waiter.resolve(
        message.type === 'reply'
          ? message.envelope
          : message.type === 'media-reply'
            ? message.result
            : null,
      );
    });
    transport.onExit((detail) => {
      this.dead = detail;
      markReady();
      for (const [id, waiter] of this.pending) {
        clearTimeout(waiter.timer);
        waiter.resolve(waiter.fallback());
        this.pending.delete(id);
      }
    });
  }

  /** Calls `channel`; always resolves to an envelope (timeouts and a dead host included). */
  call(
    channel: Channel,
    payload: unknown,
    timeoutMs = CALL_TIMEOUT_MS,
  ): Promise<Envelope<unknown>> {
    const failure = (detail: string): Envelope<unknown> => ({
      ok: false,
      error: { code: 'ENGINE_FAILED', message: `The engine stopped unexpectedly: ${detail}` },
    });
    return this.send<Envelope<unknown>>(
      (id) => ({ type: 'call', id, channel, payload }),
      timeoutMs,
      () => failure(this.dead ?? `no answer to ${channel} within ${timeoutMs / 1000} s`),
    );
  }

  /** Asks the host whether `requested` may be served, and which real file it is. */
  resolveMedia(requested: string): Promise<MediaResolution> {
    return this.send<MediaResolution>(
      (id) => ({ type: 'media', id, path: requested }),
      10_000,
      () => ({ ok: false, reason: 'the engine did not answer' }),
    );
  }

  on<E extends EventName>(name: E, listener: (payload: EventMap[E]) => void): () => void {
    this.events.on(name, listener);
    return () => this.events.off(name, listener);
  }

  /** Waits for open calls (up to `drainMs`), asks the host to close its database, then ends it. */
  async close(drainMs = 5_000): Promise<void> {
    const deadline = Date.now() + drainMs;
    while (this.pending.size > 0 && Date.now() < deadline && !this.dead) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (!this.dead) {
      await this.send(
        (id) => ({ type: 'close', id }),
        15_000,
        () => null,
      );
    }
    await this.transport.terminate();
  }

  private send<T>(
    build: (id: number) => HostRequest,
    timeoutMs: number,
    fallback: () => T,
  ): Promise<T> {
    if (this.dead) return Promise.resolve(fallback());
    const id = this.nextId++;
    return new Promise<T>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(fallback());
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, timer, fallback });
      this.transport.post(build(id));
    });
  }
}

/** Options for an engine in a worker thread. */
export interface WorkerEngineOptions {
  dbFile: string;
  modelDir?: string;
}

/** Starts the engine host in a worker thread (browser mode) and returns its client. */
export function startWorkerEngine(options: WorkerEngineOptions): EngineClient {
  const worker = new Worker(path.join(__dirname, 'engine.worker.js'), { workerData: options });
  let exitListener: (detail: string) => void = () => undefined;
  worker.on('error', (err) => exitListener(err.message));
  worker.on('exit', (code) => exitListener(`the engine thread exited with code ${code}`));
  return new EngineClient({
    post: (message) => worker.postMessage(message),
    onMessage: (listener) => worker.on('message', listener),
    onExit: (listener) => (exitListener = listener),
    terminate: async () => {
      await worker.terminate();
    },
  });
}
