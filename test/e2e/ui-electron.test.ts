/**
 * The desktop shell end to end through Playwright's Electron support: the window is locked down
 * (no Node in the page, only the contract on `window.doppel`), bad IPC payloads and unknown
 * channels are refused, navigation and new windows are denied, and the library flow works.
 * Needs an Electron binary; where none is installed (CI here), it skips and says why.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { _electron as electron, type ElectronApplication, type Page } from '@playwright/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/shared-data';
import { writeReviewLibrary } from '../helpers/photo-library';
import { TINY_MODEL } from '../helpers/serve-process';

const MAIN = path.join(REPO_ROOT, 'dist', 'src-main', 'app', 'main.js');
const PRELOAD = path.join(REPO_ROOT, 'dist', 'preload', 'preload.js');

function electronBinary(): string | null {
  try {
    // The electron package's index returns the binary path, and throws when it was never downloaded.
    const binary = createRequire(path.join(REPO_ROOT, 'package.json'))('electron') as unknown;
    return typeof binary === 'string' && fs.existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

const binary = electronBinary();
const reason = !binary
  ? 'no Electron binary is installed (its download script is disabled by allowScripts); run `node node_modules/electron/install.js` with internet access to enable these tests'
  : !fs.existsSync(MAIN) || !fs.existsSync(PRELOAD)
    ? 'the desktop shell is not built; run npm run build:app'
    : null;
if (reason) console.warn(`ui-electron: skipped: ${reason}.`);

(reason ? describe.skip : describe)('the Electron shell', () => {
  let tmp: string;
  let app: ElectronApplication;
  let page: Page;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'doppel-electron-'));
    await writeReviewLibrary(path.join(tmp, 'library'));
    app = await electron.launch({
      executablePath: binary!,
      args: [MAIN, '--no-sandbox', `--user-data-dir=${path.join(tmp, 'user-data')}`],
      env: {
        ...process.env,
        DOPPEL_HOME: path.join(tmp, 'app-data'),
        DOPPEL_MODEL_DIR: TINY_MODEL,
        XDG_DATA_HOME: path.join(tmp, 'xdg-data'),
      },
    });
    page = await app.firstWindow();
    await page.waitForLoadState('domcontentloaded');
  });

  afterAll(async () => {
    await app?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('gives the page no Node and only the contract bridge', async () => {
    const globals = await page.evaluate(() => {
      const w = globalThis as unknown as Record<string, unknown> & {
        doppel: { api: Record<string, unknown> };
      };
      return {
        require: typeof w.require,
        process: typeof w.process,
        channels: Object.keys(w.doppel.api),
      };
    });
    expect(globals.require).toBe('undefined');
    expect(globals.process).toBe('undefined');
    expect(globals.channels).toContain('app:library:get');
    expect(globals.channels.every((c) => c.startsWith('app:'))).toBe(true);
  });

  it('sets the security web preferences explicitly', async () => {
    const prefs = await app.evaluate(({ BrowserWindow }) => {
      const wc = BrowserWindow.getAllWindows()[0].webContents;
      return (
        wc as unknown as { getLastWebPreferences(): Record<string, unknown> }
      ).getLastWebPreferences();
    });
    expect(prefs).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false });
  });

  it('refuses a bad payload with an INVALID_REQUEST envelope', async () => {
    const reply = await page.evaluate(async () => {
      const w = globalThis as unknown as {
        doppel: { api: Record<string, (p: unknown) => Promise<unknown>> };
      };
      return w.doppel.api['app:groups:get']({ groupId: 'DROP TABLE' });
    });
    expect(reply).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
  });

  it('denies navigation away and new windows', async () => {
    await page.evaluate(() => {
      (globalThis as unknown as { open: (u: string) => void }).open('https://example.invalid/');
      (globalThis as unknown as { location: { href: string } }).location.href =
        'https://example.invalid/';
    });
    await page.waitForTimeout(500);
    expect(app.windows()).toHaveLength(1);
    expect(page.url()).toMatch(/^doppel-app:\/\/app\//);
  });

  it('refuses media outside the library through the custom protocol', async () => {
    const status = await page.evaluate(async () => {
      const img = new (
        globalThis as unknown as {
          Image: new () => { src: string; onload: () => void; onerror: () => void };
        }
      ).Image();
      return new Promise<string>((resolve) => {
        img.onload = () => resolve('loaded');
        img.onerror = () => resolve('refused');
        img.src = `doppel-media://media/?path=${encodeURIComponent('/etc/hostname')}`;
      });
    });
    expect(status).toBe('refused');
  });
});
