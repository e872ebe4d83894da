/** A transport for renderer tests: records calls, answers from handlers, emits events on demand. */
import type { Channel, Envelope, EventMap, EventName } from '../../../src-main/contract/ipc';
import { Api, type Transport } from '../../../src-renderer/lib/api';

type Handler = (payload: unknown) => unknown;

export class FakeTransport implements Transport {
  readonly kind = 'http' as const;
  readonly calls: { channel: Channel; payload: unknown }[] = [];
  private readonly handlers = new Map<Channel, Handler>();
  private readonly listeners = new Map<EventName, Set<(p: unknown) => void>>();

  /** Answers `channel` with `handler`'s value; a thrown { code, message } becomes an error envelope. */
  answer(channel: Channel, handler: Handler): this {
    this.handlers.set(channel, handler);
    return this;
  }

  async invoke(channel: Channel, payload: unknown): Promise<Envelope<unknown>> {
    this.calls.push({ channel, payload });
    const handler = this.handlers.get(channel);
    if (!handler)
      return { ok: false, error: { code: 'UNKNOWN_CHANNEL', message: `no fake for ${channel}` } };
    try {
      return { ok: true, value: await handler(payload) };
    } catch (err) {
      const e = err as { code?: string; message: string };
      return {
        ok: false,
        error: { code: (e.code ?? 'INTERNAL') as 'INTERNAL', message: e.message },
      };
    }
  }

  subscribe<E extends EventName>(name: E, listener: (payload: EventMap[E]) => void): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener as (p: unknown) => void);
    return () => set.delete(listener as (p: unknown) => void);
  }

  emit<E extends EventName>(name: E, payload: EventMap[E]): void {
    for (const l of this.listeners.get(name) ?? []) l(payload);
  }

  pathForFile(): string | null {
    return null;
  }

  mediaUrl(path: string): string {
    return `/media?path=${encodeURIComponent(path)}`;
  }

  callsTo(channel: Channel): unknown[] {
    return this.calls.filter((c) => c.channel === channel).map((c) => c.payload);
  }
}

export function fakeApi(): { api: Api; transport: FakeTransport } {
  const transport = new FakeTransport();
  return { api: new Api(transport), transport };
}
