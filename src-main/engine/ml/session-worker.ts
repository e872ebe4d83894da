/**
 * Hosts one onnxruntime-node session in a worker thread. onnxruntime-node runs a session
 * synchronously on the calling thread, so a batch would otherwise stall whichever event loop
 * asked for it (the one serving the UI included).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** Input and output description of a loaded network, as onnxruntime reports it. */
export interface SessionInfo {
  inputNames: string[];
  outputNames: string[];
  /** Per input or output name, its shape: numbers for fixed dims, names for symbolic ones. */
  shapes: Record<string, (number | string)[]>;
}

/** Session options the worker passes to onnxruntime (plain data, cloned across threads). */
export interface WorkerSessionOptions {
  executionProviders: string[];
  intraOpNumThreads?: number;
  interOpNumThreads: number;
  graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
  executionMode: 'sequential' | 'parallel';
  enableMemPattern: boolean;
}

type Request =
  | { op: 'open'; path: string; options: WorkerSessionOptions }
  | { op: 'run'; inputName: string; outputName: string; input: Float32Array; shape: number[] }
  | { op: 'close' };

type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; message: string };

/**
 * The worker's code, kept as plain JavaScript so the same text runs from the TypeScript sources
 * (tests) and the compiled tree, with no build step for a separate worker file. It only opens,
 * runs and closes; every decision (provider fallback, checks) stays on the calling side.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
// Provider probes that fail are reported by the caller; keep onnxruntime's own log quiet.
ort.env.logLevel = 'fatal';
let session = null;

function shapes(metadata) {
  const out = {};
  for (const m of metadata || []) if (m.isTensor) out[m.name] = m.shape;
  return out;
}

async function handle(msg) {
  if (msg.op === 'open') {
    if (session) await session.release();
    session = null;
    session = await ort.InferenceSession.create(msg.path, msg.options);
    return {
      inputNames: session.inputNames,
      outputNames: session.outputNames,
      shapes: Object.assign(shapes(session.inputMetadata), shapes(session.outputMetadata)),
    };
  }
  if (msg.op === 'run') {
    if (!session) throw new Error('no open session');
    const input = new ort.Tensor('float32', msg.input, msg.shape);
    const result = await session.run({ [msg.inputName]: input }, [msg.outputName]);
    const output = result[msg.outputName];
    const data = Float32Array.from(output.data);
    const dims = Array.from(output.dims);
    output.dispose();
    return { data, dims };
  }
  if (msg.op === 'close') {
    if (session) await session.release();
    session = null;
    return null;
  }
  throw new Error('unknown request ' + msg.op);
}

parentPort.on('message', (msg) => {
  handle(msg).then(
    (value) => {
      const transfer = value && value.data ? [value.data.buffer] : [];
      parentPort.postMessage({ id: msg.id, ok: true, value }, transfer);
    },
    (err) => parentPort.postMessage({ id: msg.id, ok: false, message: String((err && err.message) || err) }),
  );
});
`;

/**
 * A worker thread holding at most one session. Requests run one at a time in call order. The
 * worker does not keep the process alive while idle, so a forgotten dispose cannot hang an exit.
 */
export class SessionWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private failure: Error | null = null;

  constructor() {
    const ortPath = createRequire(__filename).resolve('onnxruntime-node');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ortPath } });
    this.worker.unref();
    this.worker.on('message', (reply: Reply) => this.settle(reply));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) =>
      this.fail(new Error(`the model worker exited (code ${code})`)),
    );
  }

  /** Opens (or replaces) the session; rejects with onnxruntime's message when it cannot. */
  open(onnxPath: string, options: WorkerSessionOptions): Promise<SessionInfo> {
    return this.request({ op: 'open', path: onnxPath, options }) as Promise<SessionInfo>;
  }

  /** Runs the open session on one float32 input; the input is copied, not detached. */
  run(
    inputName: string,
    outputName: string,
    input: Float32Array,
    shape: number[],
  ): Promise<{ data: Float32Array; dims: number[] }> {
    return this.request({ op: 'run', inputName, outputName, input, shape }) as Promise<{
      data: Float32Array;
      dims: number[];
    }>;
  }

  /** Releases the session and ends the thread; safe to call twice. */
  async terminate(): Promise<void> {
    if (!this.failure) {
      await this.request({ op: 'close' }).catch(() => undefined);
      this.failure = new Error('the embedder was disposed');
    }
    await this.worker.terminate();
  }

  private request(req: Request): Promise<unknown> {
    const next = this.queue.then(() => this.send(req));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private send(req: Request): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Keep the process alive only while an answer is awaited.
      this.worker.ref();
      this.worker.postMessage({ ...req, id });
    });
  }

  private settle(reply: Reply): void {
    const waiter = this.pending.get(reply.id);
    if (!waiter) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.ok) waiter.resolve(reply.value);
    else waiter.reject(new Error(reply.message));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const waiter of this.pending.values()) waiter.reject(err);
    this.pending.clear();
  }
}
