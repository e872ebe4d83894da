/** Per-file outcomes of apply and undo: values with a catalog code, never exceptions. */
import { PROBLEM_CATALOG, type ProblemCode } from '../../contract/errors';

/** What happened to one file. */
export type ActionOutcome =
  'kept' | 'trashed' | 'moved' | 'would-trash' | 'would-move' | 'restored' | 'skipped' | 'failed';

/** The result for one file; `code` and a catalog `reason` accompany skipped and failed files. */
export interface FileResult {
  path: string;
  outcome: ActionOutcome;
  code?: ProblemCode;
  reason: string;
  /** Where the file went (or would go, or came back from). */
  destination?: string;
}

/** The result for one plan action: its photo plus the companions that travelled with it. */
export interface ActionResult extends FileResult {
  group: number;
  companions: FileResult[];
}

/** The catalog message for `code`, with a detail in parentheses when one is given. */
export function describeCode(code: ProblemCode, detail?: string): string {
  return detail ? `${PROBLEM_CATALOG[code]} (${detail})` : PROBLEM_CATALOG[code];
}

/** Maps a failed file operation to the outcome code a person can act on. */
export function codeForError(err: unknown): ProblemCode {
  const code = (err as { code?: string }).code;
  switch (code) {
    case 'EEXIST':
    case 'ENOTEMPTY':
      return 'NAME_TAKEN';
    case 'EACCES':
      return 'PERMISSION_DENIED';
    case 'EPERM':
    case 'EROFS':
      return 'READ_ONLY';
    case 'ENOENT':
      return 'SOURCE_MISSING';
    case 'COPY_MISMATCH':
      return 'COPY_VERIFY_FAILED';
    default:
      return 'ACTION_IO_ERROR';
  }
}

/** A short technical detail for a failed operation (the errno code and message). */
export function errorDetail(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return e.code && e.message ? e.message : String(e.message ?? err);
}
