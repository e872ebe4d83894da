/** The main window: locked-down web preferences, no navigation away, no new windows. */
import path from 'node:path';
import { BrowserWindow, shell } from 'electron';
import { APP_ORIGIN } from './protocols';
import { readWindowState, writeWindowState } from './window-state';

/** Web preferences of every Doppel window, set explicitly rather than left to defaults. */
export function secureWebPreferences(preload: string): Electron.WebPreferences {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    spellcheck: false,
  };
}

export function createMainWindow(options: { preload: string; stateFile: string }): BrowserWindow {
  const state = readWindowState(options.stateFile);
  const window = new BrowserWindow({
    ...state,
    minWidth: 800,
    minHeight: 560,
    title: 'Doppel',
    show: false,
    webPreferences: secureWebPreferences(options.preload),
  });
  if (state.isMaximized) window.maximize();
  window.once('ready-to-show', () => window.show());

  window.webContents.on('will-navigate', (event, url) => {
    if (!url.startsWith(`${APP_ORIGIN}/`)) event.preventDefault();
  });
  window.webContents.on('will-redirect', (event, url) => {
    if (!url.startsWith(`${APP_ORIGIN}/`)) event.preventDefault();
  });
  window.webContents.on('will-attach-webview', (event) => event.preventDefault());
  window.webContents.setWindowOpenHandler(({ url }) => {
    // Links to the web open in the user's browser; nothing opens inside Doppel.
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
  window.webContents.session.setPermissionRequestHandler((_wc, _permission, callback) =>
    callback(false),
  );

  const save = (): void => {
    if (window.isDestroyed()) return;
    const bounds = window.getNormalBounds();
    writeWindowState(options.stateFile, { ...bounds, isMaximized: window.isMaximized() });
  };
  window.on('close', save);
  void window.loadURL(`${APP_ORIGIN}/index.html`);
  return window;
}

/** Where the compiled preload and renderer sit, relative to dist/src-main/app. */
export const PRELOAD_FILE = path.resolve(__dirname, '..', '..', 'preload', 'preload.js');
export const RENDERER_DIR = path.resolve(__dirname, '..', '..', 'renderer');
