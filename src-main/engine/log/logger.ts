/**
 * One logger for the engine and the CLI: levels error, warn, info, debug, one named logger per
 * module. Lines go to stderr (never stdout, which carries results) and, when configured, to a
 * log file that rotates at 5 MB.
 */
import fs from 'node:fs';
import path from 'node:path';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };
const MAX_LOG_BYTES = 5 * 1024 * 1024;

interface LogConfig {
  stderrLevel: LogLevel;
  fileLevel: LogLevel;
  file: string | null;
}

const config: LogConfig = { stderrLevel: 'warn', fileLevel: 'info', file: null };

/** Sets the levels and the rotating log file; `file: null` turns file logging off. */
export function configureLogging(next: Partial<LogConfig>): void {
  Object.assign(config, next);
}

function writeFileLine(line: string): void {
  if (!config.file) return;
  try {
    fs.mkdirSync(path.dirname(config.file), { recursive: true });
    const size = fs.existsSync(config.file) ? fs.statSync(config.file).size : 0;
    if (size > MAX_LOG_BYTES) fs.renameSync(config.file, `${config.file}.1`);
    fs.appendFileSync(config.file, line + '\n');
  } catch {
    // A log file we cannot write must never stop the work it describes.
    config.file = null;
  }
}

export interface Logger {
  error(message: string, err?: unknown): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

/** Creates a logger whose lines start with the module name. */
export function createLogger(name: string): Logger {
  const emit = (level: LogLevel, message: string): void => {
    const line = `${new Date().toISOString()} ${level.toUpperCase()} [${name}] ${message}`;
    if (RANK[level] <= RANK[config.stderrLevel]) process.stderr.write(`${level}: ${message}\n`);
    if (RANK[level] <= RANK[config.fileLevel]) writeFileLine(line);
  };
  return {
    error: (message, err) =>
      emit('error', err instanceof Error ? `${message}: ${err.stack ?? err.message}` : message),
    warn: (message) => emit('warn', message),
    info: (message) => emit('info', message),
    debug: (message) => emit('debug', message),
  };
}
