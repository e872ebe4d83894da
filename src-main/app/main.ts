/**
 * The desktop app's main process: single instance, one window, native menu, the custom schemes,
 * IPC routing. The engine runs in a utility process; this thread only routes messages.
 */
import path from 'node:path';
import { app, BrowserWindow, Menu } from 'electron';
import { APP_NAME, defaultDbPath } from '../engine/app-paths';
import { configureLogging, createLogger } from '../engine/log/logger';
import { startEngineProcess } from './engine-process';
import { registerIpc, unregisterIpc } from './ipc-handlers';
import { buildMenu } from './menu';
import { handleSchemes, registerSchemes } from './protocols';
import { createMainWindow, PRELOAD_FILE, RENDERER_DIR } from './window';

const log = createLogger('main');

app.setName(APP_NAME);
registerSchemes();

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  let window: BrowserWindow | null = null;
  let quitting = false;

  app.on('second-instance', () => {
    if (!window) return;
    if (window.isMinimized()) window.restore();
    window.focus();
  });

  void app.whenReady().then(() => {
    const userData = app.getPath('userData');
    configureLogging({ file: path.join(userData, 'logs', 'doppel.log') });
    const engine = startEngineProcess({
      dbFile: defaultDbPath(),
      modelDir: process.env.DOPPEL_MODEL_DIR,
    });
    handleSchemes(RENDERER_DIR, engine);
    registerIpc(engine, () => window);
    Menu.setApplicationMenu(buildMenu());
    const open = (): void => {
      window = createMainWindow({
        preload: PRELOAD_FILE,
        stateFile: path.join(userData, 'window-state.json'),
      });
      window.on('closed', () => (window = null));
    };
    open();
    app.on('activate', () => {
      if (!window) open();
    });
    app.on('before-quit', (event) => {
      if (quitting) return;
      event.preventDefault();
      quitting = true;
      unregisterIpc();
      // Drain open calls and close the database before the process ends.
      void engine
        .close()
        .catch((err: unknown) => log.error('engine did not close cleanly', err))
        .finally(() => app.quit());
    });
  });

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
}
