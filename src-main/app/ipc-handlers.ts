/**
 * Main's IPC: one handler per contract channel. Each checks that the sender is our own top-level
 * page, validates the payload against the contract, and answers with an envelope (Electron keeps
 * only the message of a thrown error, so nothing is thrown across). Engine work is forwarded to
 * the engine process; only the native folder picker runs here.
 */
import { BrowserWindow, dialog, ipcMain, type IpcMainInvokeEvent } from 'electron';
import { AppError } from '../contract/errors';
import {
  CHANNELS,
  EVENT_NAMES,
  parseRequest,
  type Channel,
  type Envelope,
  type RequestOf,
  type ResponseOf,
} from '../contract/ipc';
import type { EngineClient } from '../server/engine-client';
import { toWireError } from '../server/wire-error';
import { APP_ORIGIN } from './protocols';

/** Channels main answers itself, typed from the contract. */
type MainHandlers = {
  [C in Channel]?: (req: RequestOf<C>, window: BrowserWindow) => Promise<ResponseOf<C>>;
};

const MAIN_HANDLERS: MainHandlers = {
  'app:library:pick-folder': async (_req, window) => {
    const result = await dialog.showOpenDialog(window, {
      title: 'Add a photo folder',
      properties: ['openDirectory', 'createDirectory'],
    });
    return { path: result.canceled ? null : (result.filePaths[0] ?? null) };
  },
};

/** True when the event comes from the main frame of our own page in `window`. */
export function isTrustedSender(event: IpcMainInvokeEvent, window: BrowserWindow | null): boolean {
  const frame = event.senderFrame;
  if (!window || !frame || event.sender !== window.webContents) return false;
  if (frame !== window.webContents.mainFrame) return false;
  try {
    // Node's URL gives custom schemes the origin "null", so compare scheme and host instead.
    const url = new URL(frame.url);
    return `${url.protocol}//${url.host}` === APP_ORIGIN;
  } catch {
    return false;
  }
}

/** Registers every channel and forwards engine events to the window. */
export function registerIpc(engine: EngineClient, getWindow: () => BrowserWindow | null): void {
  for (const channel of CHANNELS) {
    ipcMain.handle(channel, async (event, payload: unknown): Promise<Envelope<unknown>> => {
      const window = getWindow();
      if (!isTrustedSender(event, window)) {
        return fail(
          new AppError('ACCESS_DENIED', {
            detail: 'the request did not come from the Doppel window',
          }),
        );
      }
      const parsed = parseRequest(channel, payload);
      if (!parsed.ok)
        return fail(new AppError('INVALID_REQUEST', { channel, detail: parsed.reason }));
      const local = MAIN_HANDLERS[channel] as
        ((req: unknown, w: BrowserWindow) => Promise<unknown>) | undefined;
      if (!local) return engine.call(channel, parsed.value);
      try {
        return { ok: true, value: await local(parsed.value, window!) };
      } catch (err) {
        return fail(err);
      }
    });
  }
  for (const name of EVENT_NAMES) {
    engine.on(name, (payload) => getWindow()?.webContents.send(name, payload));
  }
}

/** Removes every handler (before quitting, so no late call reaches a closed engine). */
export function unregisterIpc(): void {
  for (const channel of CHANNELS) ipcMain.removeHandler(channel);
}

function fail(err: unknown): Envelope<never> {
  return { ok: false, error: toWireError(err) };
}
