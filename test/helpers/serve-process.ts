/**
 * Starts the built `doppel serve` as a child process for end-to-end tests and reads the URL it
 * prints. Data, trash and app folders all point into the test's temp folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './shared-data';

export const BIN = path.join(REPO_ROOT, 'bin', 'doppel.js');
export const TINY_MODEL = path.join(REPO_ROOT, 'test', 'fixtures', 'tiny-model');
export const RENDERER_INDEX = path.join(REPO_ROOT, 'dist', 'renderer', 'index.html');
export const CLI_ENTRY = path.join(REPO_ROOT, 'dist', 'src-main', 'cli', 'main.js');

export interface ServeHandle {
  url: string;
  origin: string;
  token: string;
  child: ChildProcess;
  stderr: () => string;
  stop: () => Promise<void>;
}

/** Why browser-mode end-to-end tests cannot run here, or null when they can. */
export function serveUnavailableReason(): string | null {
  if (!fs.existsSync(CLI_ENTRY)) return `the CLI is not built (${CLI_ENTRY}); run npm run build`;
  if (!fs.existsSync(RENDERER_INDEX))
    return `the renderer is not built (${RENDERER_INDEX}); run npm run build:renderer`;
  return null;
}

/** Spawns `doppel serve --db FILE` with the tiny test model and waits for its URL. */
export async function startServe(tmp: string, dbFile: string): Promise<ServeHandle> {
  const child = spawn(process.execPath, [BIN, 'serve', '--db', dbFile], {
    env: {
      ...process.env,
      DOPPEL_MODEL_DIR: process.env.DOPPEL_E2E_MODEL_DIR ?? TINY_MODEL,
      DOPPEL_HOME: path.join(tmp, 'app-data'),
      XDG_DATA_HOME: path.join(tmp, 'xdg-data'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`doppel serve printed no URL in 30 s:\n${err}`)),
      30_000,
    );
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[0]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`doppel serve exited with ${code}:\n${err}`));
    });
  });
  const parsed = new URL(url);
  return {
    url,
    origin: parsed.origin,
    token: parsed.searchParams.get('token')!,
    child,
    stderr: () => err,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
}

/** Calls a contract channel over HTTP with the token; returns the parsed envelope. */
export interface TestEnvelope<T> {
  ok: boolean;
  value: T;
  error?: { code: string; message: string };
}

export async function callApi<T = unknown>(
  serve: ServeHandle,
  channel: string,
  payload: unknown = {},
): Promise<TestEnvelope<T>> {
  const r = await fetch(`${serve.origin}/api/call/${channel}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-doppel-token': serve.token },
    body: JSON.stringify(payload),
  });
  return (await r.json()) as TestEnvelope<T>;
}
