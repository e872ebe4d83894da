/**
 * The embedder: runs the model's network on batches of preprocessed pixels and returns their
 * features. Picks the execution provider from the one table, falling back explicitly.
 */
import { AppError } from '../../contract/errors';
import type { Provider } from '../../contract/types';
import type { ModelCard } from '../../core/model-card';
import {
  explainProviderFailure,
  providerChain,
  unsupportedReason,
  type ExecutionProvider,
} from './execution-providers';
import type { LoadedModel } from './model-loader';
import { SessionWorker, type SessionInfo, type WorkerSessionOptions } from './session-worker';

/** Runs the network; create with createEmbedder, dispose when done. */
export interface Embedder {
  /** The execution provider actually running the network. */
  readonly provider: ExecutionProvider;
  readonly card: ModelCard;
  /** Why a better provider was passed over (for `auto`); empty when the first choice worked. */
  readonly warnings: readonly string[];
  /**
   * Features of `n` inputs: `input` is NCHW float32 (`n * 3 * size * size`, see
   * core/preprocess), the result `n * card.output.dims` values, row-major. `input` is not
   * modified. Calls run one after another. Rejects after dispose.
   */
  features(input: Float32Array, n: number): Promise<Float32Array>;
  /** Releases the session and its thread; later calls to features reject. */
  dispose(): Promise<void>;
}

/** Options for createEmbedder. */
export interface EmbedderOptions {
  /** onnxruntime intra-op threads; left to onnxruntime (one per core) when omitted. */
  threads?: number;
}

/**
 * Opens a session for `model` on the provider `setting` asks for, in a worker thread. `auto`
 * tries each provider of the table in turn and records why one was passed over in `warnings`;
 * an explicit `cuda` or `dml` that cannot run throws AppError PROVIDER_UNAVAILABLE with the
 * reason; a network onnxruntime cannot load on CPU, or whose inputs and outputs differ from the
 * card, throws AppError MODEL_CORRUPT.
 */
export async function createEmbedder(
  model: LoadedModel,
  setting: Provider,
  opts: EmbedderOptions = {},
): Promise<Embedder> {
  if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads >= 1)) {
    throw new RangeError(`threads must be a whole number of at least 1, got ${opts.threads}.`);
  }
  const chain = providerChain(setting);
  if (chain.length === 0) {
    const reason = unsupportedReason(setting as 'cuda' | 'dml');
    throw new AppError('PROVIDER_UNAVAILABLE', { provider: setting, detail: reason });
  }

  const worker = new SessionWorker();
  try {
    const { provider, info, warnings } = await openFirstWorking(
      worker,
      model,
      setting,
      chain,
      opts,
    );
    checkSessionMatchesCard(model, info);
    return new WorkerEmbedder(worker, model, provider, warnings);
  } catch (err) {
    await worker.terminate();
    throw err;
  }
}

/** Tries each provider of `chain` alone, so onnxruntime can never drop one silently. */
async function openFirstWorking(
  worker: SessionWorker,
  model: LoadedModel,
  setting: Provider,
  chain: readonly ExecutionProvider[],
  opts: EmbedderOptions,
): Promise<{ provider: ExecutionProvider; info: SessionInfo; warnings: string[] }> {
  const warnings: string[] = [];
  for (const ep of chain) {
    try {
      const info = await worker.open(model.onnxPath, sessionOptions(ep, opts));
      return { provider: ep, info, warnings };
    } catch (err) {
      const reason = explainProviderFailure(ep, (err as Error).message);
      if (ep === 'cpu') {
        throw new AppError('MODEL_CORRUPT', { path: model.onnxPath, detail: reason });
      }
      if (setting !== 'auto') {
        throw new AppError('PROVIDER_UNAVAILABLE', { provider: ep, detail: reason });
      }
      warnings.push(`${providerLabel(ep)} is not available (${reason}); trying the next provider.`);
    }
  }
  // Unreachable while every `auto` chain ends with cpu, which throws above when it fails.
  throw new AppError('PROVIDER_UNAVAILABLE', { provider: setting, detail: warnings.join(' ') });
}

function sessionOptions(ep: ExecutionProvider, opts: EmbedderOptions): WorkerSessionOptions {
  return {
    executionProviders: [ep],
    // onnxruntime rejects an intraOpNumThreads key holding undefined, so only set it when given.
    ...(opts.threads === undefined ? {} : { intraOpNumThreads: opts.threads }),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    // DirectML requires memory patterns off (onnxruntime's DirectML provider documentation).
    enableMemPattern: ep !== 'dml',
  };
}

function providerLabel(ep: ExecutionProvider): string {
  return { cuda: 'CUDA', dml: 'DirectML', cpu: 'CPU' }[ep];
}

/** Throws MODEL_CORRUPT when the network's input or output differs from what the card says. */
function checkSessionMatchesCard(model: LoadedModel, info: SessionInfo): void {
  const { input, output } = model.card;
  const fail = (detail: string): never => {
    throw new AppError('MODEL_CORRUPT', { path: model.onnxPath, detail });
  };
  if (!info.inputNames.includes(input.name)) {
    fail(`the network has no input "${input.name}" (it has: ${info.inputNames.join(', ')})`);
  }
  if (!info.outputNames.includes(output.name)) {
    fail(`the network has no output "${output.name}" (it has: ${info.outputNames.join(', ')})`);
  }
  const expectIn = ['batch', 3, input.size, input.size];
  const inShape = info.shapes[input.name];
  if (inShape && !shapeFits(inShape, expectIn)) {
    fail(`its input shape is [${inShape.join(', ')}], the card says [${expectIn.join(', ')}]`);
  }
  const outShape = info.shapes[output.name];
  if (outShape && !shapeFits(outShape, ['batch', output.dims])) {
    fail(`its output shape is [${outShape.join(', ')}], the card says [batch, ${output.dims}]`);
  }
}

/** Fixed dims must match; a symbolic dim (a name) accepts any size. */
function shapeFits(actual: (number | string)[], expected: (number | string)[]): boolean {
  if (actual.length !== expected.length) return false;
  return actual.every(
    (dim, i) => typeof dim === 'string' || typeof expected[i] === 'string' || dim === expected[i],
  );
}

class WorkerEmbedder implements Embedder {
  readonly card: ModelCard;
  readonly warnings: readonly string[];
  private disposed = false;

  constructor(
    private readonly worker: SessionWorker,
    private readonly model: LoadedModel,
    readonly provider: ExecutionProvider,
    warnings: string[],
  ) {
    this.card = model.card;
    this.warnings = Object.freeze([...warnings]);
  }

  async features(input: Float32Array, n: number): Promise<Float32Array> {
    const { size, name: inputName } = this.card.input;
    const { dims, name: outputName } = this.card.output;
    if (this.disposed) throw new Error('features() called after the embedder was disposed.');
    if (!Number.isInteger(n) || n < 1 || input.length !== n * 3 * size * size) {
      throw new RangeError(
        `features() got ${input.length} values for n=${n}; expected n * 3 * ${size} * ${size}.`,
      );
    }

    const out = await this.worker.run(inputName, outputName, input, [n, 3, size, size]);
    if (out.data.length !== n * dims) {
      throw new AppError('MODEL_CORRUPT', {
        path: this.model.onnxPath,
        detail: `the network returned shape [${out.dims.join(', ')}] for ${n} inputs; the card says ${dims} features each`,
      });
    }
    return out.data;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.worker.terminate();
  }
}
