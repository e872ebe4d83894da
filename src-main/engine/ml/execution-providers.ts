/**
 * Which onnxruntime execution providers each Doppel provider setting tries, per platform. The
 * one table every provider choice comes from.
 */
import type { Provider } from '../../contract/types';

/** An onnxruntime-node execution provider Doppel may use. */
export type ExecutionProvider = 'cuda' | 'dml' | 'cpu';

type PlatformKey = 'linux' | 'win32' | 'darwin' | 'other';

/**
 * Per platform and setting, the execution providers to try, best first. An empty list means the
 * setting cannot work on that platform. `auto` always ends with `cpu`; explicit settings never
 * fall back, so a user who asked for a GPU hears why it is not used.
 */
export const EXECUTION_PROVIDER_TABLE: Readonly<
  Record<PlatformKey, Readonly<Record<Provider, readonly ExecutionProvider[]>>>
> = deepFreeze({
  linux: { auto: ['cuda', 'cpu'], cpu: ['cpu'], cuda: ['cuda'], dml: [] },
  // onnxruntime-node ships its CUDA provider for Linux x64 only, and DirectML for Windows only.
  win32: { auto: ['dml', 'cpu'], cpu: ['cpu'], cuda: [], dml: ['dml'] },
  darwin: { auto: ['cpu'], cpu: ['cpu'], cuda: [], dml: [] },
  other: { auto: ['cpu'], cpu: ['cpu'], cuda: [], dml: [] },
});

/** Why a setting has no provider on a platform, for the PROVIDER_UNAVAILABLE message. */
const NOT_ON_PLATFORM: Readonly<Record<Exclude<Provider, 'auto' | 'cpu'>, string>> = {
  cuda: 'onnxruntime-node provides CUDA only on Linux x64',
  dml: 'DirectML exists only on Windows',
};

/** The execution providers to try for `setting` on `platform`, best first (possibly none). */
export function providerChain(
  setting: Provider,
  platform: NodeJS.Platform = process.platform,
): readonly ExecutionProvider[] {
  const key: PlatformKey =
    platform === 'linux' || platform === 'win32' || platform === 'darwin' ? platform : 'other';
  return EXECUTION_PROVIDER_TABLE[key][setting];
}

/** The reason an explicit `setting` cannot run on this platform at all. */
export function unsupportedReason(setting: 'cuda' | 'dml'): string {
  return NOT_ON_PLATFORM[setting];
}

/** Adds what a person can do to onnxruntime's terse reason for a provider that failed to load. */
export function explainProviderFailure(ep: ExecutionProvider, message: string): string {
  const firstLine = message.split('\n')[0].trim();
  if (ep === 'cuda' && /shared library|libcu|cudnn|CUDA/i.test(firstLine)) {
    return (
      `${firstLine} (onnxruntime-node's CUDA provider files, or the CUDA 12 and cuDNN 9 ` +
      'libraries they need, are not installed)'
    );
  }
  if (/backend not found/i.test(firstLine)) {
    return `${firstLine} (this onnxruntime-node build does not include ${ep})`;
  }
  return firstLine;
}

function deepFreeze<T extends object>(value: T): T {
  for (const inner of Object.values(value)) {
    if (inner && typeof inner === 'object') deepFreeze(inner as object);
  }
  return Object.freeze(value);
}
