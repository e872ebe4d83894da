/**
 * The catalog of every user-facing error and per-file problem: a stable code, a one-line message a
 * person understands, and an optional hint. The CLI, the HTTP server and the app render from it.
 */

/** Errors that stop a command (bad argument, missing model...). */
export const ERROR_CATALOG = {
  FOLDER_NOT_FOUND: { message: 'Folder not found: {path}', hint: 'Check the path and try again.' },
  NOT_A_FOLDER: { message: 'Not a folder: {path}', hint: 'Give a folder to scan, not a file.' },
  BAD_ARGUMENT: { message: 'Invalid value for {name}: {given}. Accepted: {accepted}', hint: '' },
  MODEL_MISSING: {
    message: 'Model file not found: {path}',
    hint: 'Reinstall Doppel, or pass --model to a folder holding a model card.',
  },
  MODEL_CORRUPT: {
    message: 'Model file does not match its card ({path}): {detail}',
    hint: 'Reinstall Doppel; the model file was changed or cut short.',
  },
  PROVIDER_UNAVAILABLE: {
    message: 'Execution provider {provider} is not available on this machine: {detail}',
    hint: 'Use --provider auto or cpu.',
  },
  DB_OPEN_FAILED: { message: 'Cannot open the database {path}: {detail}', hint: '' },
  DB_TOO_NEW: {
    message: 'The database {path} was written by a newer Doppel (schema {found}, this one knows {known}).',
    hint: 'Update Doppel or use another --db.',
  },
  PLAN_INVALID: { message: 'The plan {path} is not valid: {detail}', hint: '' },
  CANCELLED: { message: 'Cancelled.', hint: '' },
} as const satisfies Record<string, { message: string; hint: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

/**
 * Why one file could not be used. Each is a value stored with the file, never a crash: a scan
 * records the reason and goes on.
 */
export const PROBLEM_CATALOG = {
  EMPTY_FILE: 'The file is empty (0 bytes).',
  UNREADABLE: 'The file cannot be read: permission denied.',
  VANISHED: 'The file or its folder disappeared during the scan.',
  IO_ERROR: 'The file could not be read from disk.',
  UNKNOWN_FORMAT: 'Not an image format Doppel knows (the content matches no image type).',
  TRUNCATED: 'The image data is cut short or corrupt; the file is probably damaged.',
  CORRUPT_HEADER: 'The image header is corrupt, so the picture cannot be decoded.',
  DECOMPRESSION_BOMB:
    'The image claims far more pixels than its file size allows (a decompression bomb); refused.',
  TOO_LARGE: 'The image is larger than one gigapixel; refused to protect memory.',
  RAW_NO_PREVIEW: 'RAW file without a usable embedded preview, so it cannot be compared.',
  HEIC_DECODE_FAILED: 'The HEIC/HEIF image could not be decoded.',
  SYMLINK_LOOP: 'A symbolic link loops back on a folder already scanned; not followed.',
  NAME_NOT_UTF8: 'The file name is not valid UTF-8 (kept and scanned under its raw bytes).',
  EMBED_FAILED: 'The model could not process this image.',
  ORPHAN_SIDECAR: 'A sidecar file (XMP, AAE, THM...) whose photo is missing from its folder.',
} as const satisfies Record<string, string>;

export type ProblemCode = keyof typeof PROBLEM_CATALOG;

/** Fills `{name}` placeholders of a catalog message. Unknown placeholders are left as written. */
export function formatMessage(template: string, params: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) =>
    key in params ? String(params[key]) : whole,
  );
}

/** A failure the user can act on, carrying a catalog code; rendered by the CLI and UI. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly params: Record<string, string | number>;

  constructor(code: ErrorCode, params: Record<string, string | number> = {}) {
    super(formatMessage(ERROR_CATALOG[code].message, params));
    this.name = 'AppError';
    this.code = code;
    this.params = params;
  }

  /** The catalog hint for this error, or '' when it has none. */
  get hint(): string {
    return formatMessage(ERROR_CATALOG[this.code].hint, this.params);
  }
}

/** Raised when the user or the app cancels a job; never shown as a failure. */
export class CancellationError extends Error {
  constructor() {
    super('Cancelled.');
    this.name = 'CancellationError';
  }
}

/** Throws for a value a `switch` over a union did not handle. */
export function missingCase(value: never): never {
  throw new Error(`Unhandled case: ${JSON.stringify(value)}`);
}
