/**
 * The `doppel` command line: the same engine as the desktop app, headless. Results go to stdout,
 * progress and warnings to stderr.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { configureLogging } from '../engine/log/logger';
import { exitCodeFor, renderError } from './context';
import { COMMANDS } from './commands';

/** Builds the command tree; each command module adds itself. */
export function buildProgram(): Command {
  const program = new Command('doppel')
    .description('Find duplicate and similar photos and clean them up safely.')
    .version(packageVersion(), '--version', 'print the version')
    .option('--verbose', 'print debug logs and stack traces')
    .showHelpAfterError(false)
    .exitOverride();
  program.configureOutput({
    writeErr: (text) => process.stderr.write(text),
    outputError: (text, write) =>
      write(text.startsWith('error:') ? `doppel: ${text.slice(7)}` : text),
  });
  for (const register of COMMANDS) register(program);
  return program;
}

/** Runs the CLI with `argv` (as process.argv) and resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const verbose = argv.includes('--verbose');
  configureLogging({ stderrLevel: verbose ? 'debug' : 'warn' });
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message; help and version exit with 0.
      return err.exitCode === 0 ? 0 : 2;
    }
    process.stderr.write(renderError(err, verbose));
    return exitCodeFor(err);
  }
}

/**
 * The version in Doppel's package.json, found by walking up from this file (src-main/cli/ when run
 * from TypeScript, dist/src-main/cli/ when built).
 */
export function packageVersion(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'doppel' && pkg.version) return pkg.version;
    }
    if (path.dirname(dir) === dir) return 'unknown';
  }
}
