/**
 * The renderer's only door to the engine: the Electron preload bridge when it exists, HTTP with
 * server-sent events in browser mode. Envelopes become values, or ApiError carrying the catalog
 * code, so components never see a transport.
 */
import type {
  Channel,
  Envelope,
  EventMap,
  EventName,
  RequestInputOf,
  ResponseOf,
} from '../../src-main/contract/ipc';

/** A failed call, with the catalog code and the message to show. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** What the Electron preload exposes on `window.doppel`. */
export interface PreloadBridge {
  api: { [C in Channel]: (payload: unknown) => Promise<Envelope<unknown>> };
  on<E extends EventName>(name: E, listener: (payload: EventMap[E]) => void): () => void;
  mediaUrl(path: string): string;
  pathForFile(file: File): string;
}

/** The transport both modes implement. */
export interface Transport {
  readonly kind: 'electron' | 'http';
  invoke(channel: Channel, payload: unknown): Promise<Envelope<unknown>>;
  subscribe<E extends EventName>(name: E, listener: (payload: EventMap[E]) => void): () => void;
  mediaUrl(path: string): string;
  /** The path of a dropped file or folder; null where the page cannot know it (a browser). */
  pathForFile(file: File): string | null;
}

const TOKEN_KEY = 'doppel.token';

/** HTTP transport for browser mode; the token comes from the URL `doppel serve` printed. */
export function createHttpTransport(win: Window = window): Transport {
  const params = new URLSearchParams(win.location.search);
  const fromUrl = params.get('token');
  if (fromUrl) {
    win.sessionStorage.setItem(TOKEN_KEY, fromUrl);
    params.delete('token');
    const rest = params.toString();
    win.history.replaceState(
      null,
      '',
      win.location.pathname + (rest ? `?${rest}` : '') + win.location.hash,
    );
  }
  const token = win.sessionStorage.getItem(TOKEN_KEY) ?? '';
  let source: EventSource | null = null;
  return {
    kind: 'http',
    async invoke(channel, payload) {
      const response = await fetch(`/api/call/${channel}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-doppel-token': token },
        body: JSON.stringify(payload ?? {}),
      });
      try {
        return (await response.json()) as Envelope<unknown>;
      } catch {
        return { ok: false, error: { code: 'INTERNAL', message: `HTTP ${response.status}` } };
      }
    },
    subscribe(name, listener) {
      source ??= new EventSource('/api/events');
      const handler = (e: MessageEvent<string>): void => listener(JSON.parse(e.data));
      source.addEventListener(name, handler as EventListener);
      return () => source?.removeEventListener(name, handler as EventListener);
    },
    mediaUrl: (path) => `/media?path=${encodeURIComponent(path)}`,
    pathForFile: () => null,
  };
}

/** Electron transport over the preload bridge. */
export function createBridgeTransport(bridge: PreloadBridge): Transport {
  return {
    kind: 'electron',
    invoke: (channel, payload) => bridge.api[channel](payload),
    subscribe: (name, listener) => bridge.on(name, listener),
    mediaUrl: (path) => bridge.mediaUrl(path),
    pathForFile: (file) => bridge.pathForFile(file) || null,
  };
}

/** Typed calls over a transport: the value on success, ApiError otherwise. */
export class Api {
  constructor(readonly transport: Transport) {}

  get isDesktop(): boolean {
    return this.transport.kind === 'electron';
  }

  async call<C extends Channel>(channel: C, payload: RequestInputOf<C>): Promise<ResponseOf<C>> {
    let envelope: Envelope<unknown>;
    try {
      envelope = await this.transport.invoke(channel, payload);
    } catch (err) {
      throw new ApiError('INTERNAL', err instanceof Error ? err.message : String(err));
    }
    if (!envelope.ok)
      throw new ApiError(envelope.error.code, envelope.error.message, envelope.error.hint);
    return envelope.value as ResponseOf<C>;
  }

  on<E extends EventName>(name: E, listener: (payload: EventMap[E]) => void): () => void {
    return this.transport.subscribe(name, listener);
  }

  mediaUrl(path: string): string {
    return this.transport.mediaUrl(path);
  }

  pathForFile(file: File): string | null {
    return this.transport.pathForFile(file);
  }
}

/** The API for this page: the preload bridge in the desktop app, HTTP otherwise. */
export function createApi(win: Window = window): Api {
  const bridge = (win as unknown as { doppel?: PreloadBridge }).doppel;
  return new Api(bridge ? createBridgeTransport(bridge) : createHttpTransport(win));
}
