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
  DB_NOT_FOUND: {
    message: 'No Doppel database at {path}: run "doppel scan <folder>" first.',
    hint: '',
  },
  THRESHOLDS_INVALID: {
    message:
      'The near-duplicate threshold ({near}) cannot be above the similar threshold ({similar}); nothing was saved.',
    hint: 'Lower --near or raise --similar (one command can set both).',
  },
  LABELS_NOT_IMPORTED: {
    message: 'Nothing was imported from {path}: {detail}',
    hint: 'An import is all or nothing: fix or remove that entry and import again.',
  },
  DB_OPEN_FAILED: { message: 'Cannot open the database {path}: {detail}', hint: '' },
  DB_TOO_NEW: {
    message:
      'The database {path} was written by a newer Doppel (schema {found}, this one knows {known}).',
    hint: 'Update Doppel or use another --db.',
  },
  PLAN_INVALID: { message: 'The plan {path} is not valid: {detail}', hint: '' },
  CANCELLED: { message: 'Cancelled.', hint: '' },
  INVALID_REQUEST: { message: 'Refused request {channel}: {detail}', hint: '' },
  UNKNOWN_CHANNEL: { message: 'Unknown request "{channel}".', hint: '' },
  ACCESS_DENIED: {
    message: 'Access denied: {detail}',
    hint: 'Open the exact address `doppel serve` printed, including its token.',
  },
  NOT_FOUND: { message: 'Not found: {what}', hint: '' },
  NOT_SUPPORTED: { message: '{what} is not available here.', hint: '{hint}' },
  JOB_RUNNING: { message: 'A {kind} is already running.', hint: 'Wait for it or cancel it first.' },
  NO_LIBRARY_FOLDERS: {
    message: 'The library has no folders yet.',
    hint: 'Add a folder on the Library screen first.',
  },
  LOSE_ALL_UNCONFIRMED: {
    message: 'This would remove every copy in the group ({count} photos).',
    hint: 'Confirm that no copy should be kept, or keep one.',
  },
  MEDIA_REFUSED: { message: 'Refused to serve {path}: {reason}', hint: '' },
  PORT_IN_USE: {
    message: 'Cannot listen on 127.0.0.1:{port}: {detail}',
    hint: 'Choose another --port, or leave it out to use any free port.',
  },
  ENGINE_FAILED: { message: 'The engine stopped unexpectedly: {detail}', hint: 'Restart Doppel.' },
  MOVE_TARGET_INVALID: {
    message: 'Cannot move files to {path}: {detail}',
    hint: 'Give --move-to a folder you can write to.',
  },
  OPTIONS_CONFLICT: { message: 'Options {a} and {b} cannot be used together.', hint: '' },
  PHOTO_NOT_SCANNED: {
    message: 'Not a scanned photo: {path}',
    hint: 'Scan its folder first (doppel scan FOLDER), or check the path.',
  },
  PHOTO_UNUSABLE: {
    message:
      'The photo {path} could not be read in the last scan ({reason}), so it cannot be labelled.',
    hint: '',
  },
  LABEL_INVALID: { message: 'Invalid label: {detail}', hint: '' },
  LABELS_FILE_INVALID: {
    message: 'The labels file {path} is not valid, so nothing was imported: {detail}',
    hint: 'Give a JSON array of {"query","better","worse"} photo paths, or a file from doppel label --export.',
  },
  FILE_WRITE_FAILED: { message: 'Cannot write {path}: {detail}', hint: '' },
  HEAD_VERSION_UNKNOWN: {
    message: 'No head version {given}. Known versions: {accepted}',
    hint: 'See doppel head --list.',
  },
  HEAD_INCOMPATIBLE: {
    message:
      'Head version {version} was trained for another model ({detail}), so it cannot be used with this one.',
    hint: 'Revert to the shipped head (doppel head --revert shipped) and train again.',
  },
  LEARN_FAILED: { message: 'Training stopped: {detail}', hint: '' },
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
  BROKEN_LINK: 'A symbolic link whose target does not exist, so there is nothing to read.',
  EMBED_FAILED: 'The model could not process this image.',
  ORPHAN_SIDECAR: 'A sidecar file (XMP, AAE, THM...) whose photo is missing from its folder.',
  CHANGED_SINCE_PLAN: 'The file changed since the plan was made; left untouched.',
  SOURCE_MISSING: 'The file is no longer where the plan says; nothing was done.',
  PROTECTED_FOLDER:
    'The file is inside a protected folder; protected files are never moved or trashed.',
  LAST_COPY:
    'This is the last remaining copy of its group; refused (the plan must set "allowLastCopy": true and you must confirm).',
  KEEP_CONFLICT: 'The plan also marks this file to keep; left untouched.',
  NAME_TAKEN: 'Another file already has that name at the destination; nothing was overwritten.',
  PERMISSION_DENIED: 'Permission denied: this user cannot change the file or its folder.',
  READ_ONLY: 'The file is read-only or immutable, or on a read-only disk; left untouched.',
  COPY_VERIFY_FAILED:
    'The copy made on the other disk did not match the original; the copy was removed and the original kept.',
  ACTION_IO_ERROR: 'The file could not be moved because of a disk error; it was left where it was.',
  INTERRUPTED: 'Doppel was stopped before this file was moved; it is still at its original place.',
  GONE_FROM_DESTINATION:
    'The file is no longer where Doppel sent it (the trash was emptied, or it was moved); it cannot be restored.',
  RESTORE_FROM_SYSTEM_TRASH:
    'The file went to the system trash; restore it from there (Put Back in the Finder, Restore in the Recycle Bin).',
  BUNDLE_KEPT_TOGETHER:
    'Another file of the same photo could not be moved, so this one was left (or put back) with it.',
  LISTED_TWICE: 'The plan lists this file more than once; only its first action counts.',
  ACTION_FILE_VANISHED:
    'The file is neither at its original place nor at its destination: something else moved or deleted it.',
  TOO_LARGE_IN_MEMORY:
    'The image is too large for a format that must be decoded whole in memory; refused to protect memory.',
  UNSUPPORTED_VARIANT: 'A known image format, but in a variant Doppel cannot decode.',
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
