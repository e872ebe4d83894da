/**
 * The bridge between the sandboxed page and main: one typed object, `window.doppel`, with one
 * function per contract channel. The page never sees ipcRenderer; channels and events outside the
 * contract do not exist on the bridge.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import { CHANNELS, EVENT_NAMES, type Channel, type EventName } from './contract/ipc';

const api = Object.fromEntries(
  CHANNELS.map((channel) => [channel, (payload: unknown) => ipcRenderer.invoke(channel, payload)]),
) as Record<Channel, (payload: unknown) => Promise<unknown>>;

contextBridge.exposeInMainWorld('doppel', {
  api: Object.freeze(api),
  on(name: EventName, listener: (payload: unknown) => void): () => void {
    if (!EVENT_NAMES.includes(name)) throw new Error(`Unknown event "${String(name)}".`);
    const wrapped = (_event: IpcRendererEvent, payload: unknown): void => listener(payload);
    ipcRenderer.on(name, wrapped);
    return () => ipcRenderer.removeListener(name, wrapped);
  },
  /** The path of a file or folder dropped on the page (Electron no longer exposes File.path). */
  pathForFile: (file: File) => webUtils.getPathForFile(file),
  mediaUrl: (file: string) => `doppel-media://media/?path=${encodeURIComponent(String(file))}`,
});
