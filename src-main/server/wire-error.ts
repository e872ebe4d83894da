/** Turns thrown values into the error half of an envelope, the only form errors cross in. */
import { AppError, CancellationError } from '../contract/errors';
import type { WireError } from '../contract/ipc';
import { createLogger } from '../engine/log/logger';

const log = createLogger('wire');

/** Catalog errors keep their code and hint; cancellations stay quiet; anything else is logged. */
export function toWireError(err: unknown): WireError {
  if (err instanceof AppError) {
    return { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) };
  }
  if (err instanceof CancellationError) return { code: 'CANCELLED', message: err.message };
  log.error('unexpected error', err);
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}
