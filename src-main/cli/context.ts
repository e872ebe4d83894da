/**
 * What every CLI command shares: where the database is, how results and progress are printed,
 * and how a catalog error becomes one line on stderr and a non-zero exit.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { AppError, type ErrorCode } from '../contract/errors';
import { defaultDbPath } from '../engine/app-paths';
import { openDatabase, type Db } from '../engine/db/database';

/** Options common to commands that read the cache. */
export interface DbOption {
  db?: string;
}

/**
 * Resolves `--db` (or the per-user default) and opens the database. Only commands that build the
 * cache (`create: true`: scan) may create it; every other command refuses a database that does not
 * exist, creating neither file nor folder, so a typo in --db never looks like an empty library.
 */
export function openDbFromOptions(
  opts: DbOption,
  { create = false }: { create?: boolean } = {},
): { db: Db; file: string } {
  const file = resolveDbFile(opts, { create });
  return { db: openDatabase(file), file };
}

/** The database file `--db` (or the default) names; throws AppError DB_NOT_FOUND (see above). */
export function resolveDbFile(
  opts: DbOption,
  { create = false }: { create?: boolean } = {},
): string {
  const file = path.resolve(opts.db ?? defaultDbPath());
  if (!create && !fs.existsSync(file)) throw new AppError('DB_NOT_FOUND', { path: file });
  return file;
}

/** Catalog errors that mean the command line itself is wrong: exit 2, like commander's own. */
const ARGUMENT_ERRORS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'BAD_ARGUMENT',
  'OPTIONS_CONFLICT',
  'THRESHOLDS_INVALID',
]);

/** The exit code for an error that stopped a command: 2 for a bad argument, else 1. */
export function exitCodeFor(err: unknown): number {
  return err instanceof AppError && ARGUMENT_ERRORS.has(err.code) ? 2 : 1;
}

/** Writes a result to stdout; JSON output is pure JSON followed by a newline. */
export function printResult(value: unknown, asJson: boolean, human: () => string): void {
  process.stdout.write(asJson ? JSON.stringify(value, null, 2) + '\n' : human());
}

/**
 * Renders an error for the terminal: one line, the catalog message with its hint. `verbose` puts
 * the hint on its own line and adds the stack.
 */
export function renderError(err: unknown, verbose: boolean): string {
  if (err instanceof AppError) {
    const { message, hint } = err;
    if (verbose) return `doppel: ${message}${hint ? `\n  ${hint}` : ''}\n${err.stack ?? ''}\n`;
    return `doppel: ${oneLine(joinHint(message, hint))}\n`;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return verbose ? `doppel: ${e.stack ?? e.message}\n` : `doppel: ${oneLine(e.message)}\n`;
}

/**
 * "Folder not found: /x" + "Check the path." -> "Folder not found: /x (check the path)";
 * a message that is a full sentence keeps the hint as a second sentence.
 */
function joinHint(message: string, hint: string): string {
  if (!hint) return message;
  if (/[.!?]$/.test(message)) return `${message} ${hint}`;
  const clause = hint.replace(/\.$/, '');
  return `${message} (${clause.charAt(0).toLowerCase()}${clause.slice(1)})`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** A commander argument parser for a positive integer, naming what was given. */
export function parsePositiveInt(name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) {
      throw new InvalidArgumentError(`${name} must be a positive whole number, got "${value}".`);
    }
    return n;
  };
}

/** A commander argument parser that accepts one of `choices`, listing them when it refuses. */
export function parseChoice<T extends string>(
  name: string,
  choices: readonly T[],
): (value: string) => T {
  return (value: string) => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`${name} "${value}" is not one of: ${choices.join(', ')}.`);
    }
    return value as T;
  };
}
