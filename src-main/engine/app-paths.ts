/**
 * Where Doppel keeps its data: the same folder for the CLI and the desktop app, matching what
 * Electron's `app.getPath('userData')` gives for an app named Doppel, computed without Electron.
 */
import os from 'node:os';
import path from 'node:path';
import envPaths from 'env-paths';

export const APP_NAME = 'Doppel';

/**
 * The per-user application data folder: `~/.config/Doppel` on Linux (honouring XDG_CONFIG_HOME),
 * `~/Library/Application Support/Doppel` on macOS, `%APPDATA%\Doppel` on Windows.
 * `DOPPEL_HOME` overrides it (tests and portable installs).
 */
export function appDataDir(): string {
  if (process.env.DOPPEL_HOME) return path.resolve(process.env.DOPPEL_HOME);
  switch (process.platform) {
    case 'darwin':
      return path.join(os.homedir(), 'Library', 'Application Support', APP_NAME);
    case 'win32':
      return path.join(
        process.env.APPDATA ?? path.join(os.homedir(), 'AppData', 'Roaming'),
        APP_NAME,
      );
    default:
      return envPaths(APP_NAME, { suffix: '' }).config;
  }
}

/** The default cache database used when no `--db` is given. */
export function defaultDbPath(): string {
  return path.join(appDataDir(), 'library.sqlite');
}
