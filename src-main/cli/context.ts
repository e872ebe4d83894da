/**
 * What every CLI command shares: where the database is, how results and progress are printed,
 * and how a catalog error becomes one line on stderr and a non-zero exit.
 */
import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { AppError } from '../contract/errors';
import { defaultDbPath } from '../engine/app-paths';
import { openDatabase, type Db } from '../engine/db/database';

/** Options common to commands that read the cache. */
export interface DbOption {
  db?: string;
}

/** Resolves `--db` (or the per-user default) and opens the database. */
export function openDbFromOptions(opts: DbOption): { db: Db; file: string } {
  const file = path.resolve(opts.db ?? defaultDbPath());
  return { db: openDatabase(file), file };
}

/** Writes a result to stdout; JSON output is pure JSON followed by a newline. */
export function printResult(value: unknown, asJson: boolean, human: () => string): void {
  process.stdout.write(asJson ? JSON.stringify(value, null, 2) + '\n' : human());
}

/** Renders an error for the terminal: the catalog message, its hint, and a stack when verbose. */
export function renderError(err: unknown, verbose: boolean): string {
  if (err instanceof AppError) {
    const hint = err.hint ? `\n  ${err.hint}` : '';
    return `doppel: ${err.message}${hint}\n`;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return verbose ? `doppel: ${e.stack ?? e.message}\n` : `doppel: ${e.message}\n`;
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
