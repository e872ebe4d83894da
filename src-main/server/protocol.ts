/**
 * Messages between the thread that serves the UI (HTTP server or Electron main) and the engine
 * host (a worker thread or an Electron utility process). The serving side only routes: it
 * validates, forwards a call and relays the envelope.
 */
import type { Channel, Envelope, EventMap, EventName, WireError } from '../contract/ipc';

/** Serving side to engine host. */
export type HostRequest =
  | { type: 'call'; id: number; channel: Channel; payload: unknown }
  | { type: 'media'; id: number; path: string }
  | { type: 'close'; id: number };

/** Engine host to serving side. */
export type HostReply =
  | { type: 'reply'; id: number; envelope: Envelope<unknown> }
  | { type: 'media-reply'; id: number; result: MediaResolution }
  | { type: 'closed'; id: number }
  | { type: 'event'; name: EventName; payload: EventMap[EventName] }
  | { type: 'ready' }
  /** The host could not start (say, the database cannot be opened); it ends after this. */
  | { type: 'start-failed'; error: WireError };

/** Where a media request leads: a real file inside the library, or why it was refused. */
export type MediaResolution =
  { ok: true; path: string; size: number } | { ok: false; reason: string };

/** The two ends a host needs: how to hear requests and how to answer. */
export interface HostPort {
  onMessage(listener: (message: HostRequest) => void): void;
  postMessage(message: HostReply): void;
}
