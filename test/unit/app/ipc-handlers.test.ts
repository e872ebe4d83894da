/**
 * The desktop shell's IPC and media protocol, with Electron replaced by fakes (no binary here):
 * every channel checks its sender frame, validates its payload and answers with an envelope; the
 * media scheme serves only what the engine allows; windows are created locked down.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { registerIpc, unregisterIpc } from '../../../src-main/app/ipc-handlers';
import { handleSchemes } from '../../../src-main/app/protocols';
import { secureWebPreferences } from '../../../src-main/app/window';
import { CHANNELS } from '../../../src-main/contract/ipc';

type Handler = (event: unknown, payload: unknown) => Promise<unknown>;
// vi.mock is hoisted above the imports; its fakes record into these hoisted maps.
const { handlers, schemes } = vi.hoisted(() => ({
  handlers: new Map<string, (event: unknown, payload: unknown) => Promise<unknown>>(),
  schemes: new Map<string, (request: Request) => Promise<Response>>(),
}));

vi.mock('electron', () => ({
  ipcMain: {
    handle: (channel: string, fn: Handler) => handlers.set(channel, fn),
    removeHandler: (channel: string) => handlers.delete(channel),
  },
  dialog: { showOpenDialog: async () => ({ canceled: false, filePaths: ['/picked/folder'] }) },
  protocol: {
    handle: (scheme: string, fn: (r: Request) => Promise<Response>) => schemes.set(scheme, fn),
    registerSchemesAsPrivileged: () => undefined,
  },
  net: { fetch: async () => new Response('PIXELS') },
  BrowserWindow: class {},
  shell: {},
}));

const calls: { channel: string; payload: unknown }[] = [];
const fakeEngine = {
  call: async (channel: string, payload: unknown) => {
    calls.push({ channel, payload });
    return { ok: true, value: 'from-engine' };
  },
  on: () => () => undefined,
  resolveMedia: async (p: string) =>
    p === '/library/a.jpg'
      ? { ok: true, path: '/library/a.jpg', size: 6 }
      : { ok: false, reason: 'outside the library folders' },
};

const mainFrame = { url: 'doppel-app://app/index.html' };
const webContents = { mainFrame, send: () => undefined };
const window = { webContents };

function event(frame: unknown = mainFrame, sender: unknown = webContents): unknown {
  return { senderFrame: frame, sender };
}

beforeEach(() => {
  handlers.clear();
  calls.length = 0;
  registerIpc(fakeEngine as never, () => window as never);
});

describe('IPC handlers', () => {
  it('registers exactly the contract channels', () => {
    expect([...handlers.keys()].sort()).toEqual([...CHANNELS].sort());
    unregisterIpc();
    expect(handlers.size).toBe(0);
  });

  it('forwards a valid call from our page to the engine', async () => {
    const reply = await handlers.get('app:groups:get')!(event(), { groupId: 3 });
    expect(reply).toEqual({ ok: true, value: 'from-engine' });
    expect(calls).toEqual([{ channel: 'app:groups:get', payload: { groupId: 3 } }]);
  });

  it('refuses a bad payload before it reaches the engine', async () => {
    const reply = await handlers.get('app:groups:get')!(event(), {
      groupId: '3; DROP TABLE photos',
    });
    expect(reply).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
    expect(calls).toHaveLength(0);
  });

  it('refuses calls from a subframe, another origin or another window', async () => {
    const subframe = { url: 'doppel-app://app/index.html' };
    const foreign = { url: 'https://evil.example/' };
    for (const e of [event(subframe), event({ ...mainFrame }), event(mainFrame, {}), event(null)]) {
      const reply = await handlers.get('app:library:get')!(e, {});
      expect(reply).toMatchObject({ ok: false, error: { code: 'ACCESS_DENIED' } });
    }
    mainFrame.url = foreign.url;
    try {
      expect(await handlers.get('app:library:get')!(event(), {})).toMatchObject({ ok: false });
    } finally {
      mainFrame.url = 'doppel-app://app/index.html';
    }
    expect(calls).toHaveLength(0);
  });

  it('answers the folder picker in main, with the native dialog', async () => {
    expect(await handlers.get('app:library:pick-folder')!(event(), {})).toEqual({
      ok: true,
      value: { path: '/picked/folder' },
    });
    expect(calls).toHaveLength(0);
  });
});

describe('custom schemes', () => {
  it('serves media the engine allows and refuses the rest', async () => {
    handleSchemes('/nonexistent-renderer', fakeEngine as never);
    const media = schemes.get('doppel-media')!;
    const ok = await media(
      new Request(`doppel-media://media/?path=${encodeURIComponent('/library/a.jpg')}`),
    );
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('PIXELS');
    const refused = await media(
      new Request(`doppel-media://media/?path=${encodeURIComponent('/library/../etc/passwd')}`),
    );
    expect(refused.status).toBe(403);
  });

  it('serves no renderer file outside its folder', async () => {
    handleSchemes('/nonexistent-renderer', fakeEngine as never);
    const page = schemes.get('doppel-app')!;
    expect((await page(new Request('doppel-app://app/..%2f..%2fetc%2fpasswd'))).status).toBe(404);
    expect((await page(new Request('doppel-app://other/index.html'))).status).toBe(404);
  });
});

describe('window preferences', () => {
  it('sets isolation, sandbox and no Node explicitly', () => {
    expect(secureWebPreferences('/p.js')).toMatchObject({
      preload: '/p.js',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
    });
  });
});
