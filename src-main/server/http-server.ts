/**
 * Browser mode: the renderer and the contract over HTTP on 127.0.0.1. Every request needs the
 * per-run token (header, cookie set by the first page load, or `?token=`), a Host header naming
 * this server (DNS rebinding), and for calls a JSON body (a cross-site form cannot send one).
 * This thread only routes: the engine runs in a worker thread.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { AppError } from '../contract/errors';
import { EVENT_NAMES, isChannel, parseRequest, type Envelope, type JobDto } from '../contract/ipc';
import { createLogger } from '../engine/log/logger';
import { toWireError } from './wire-error';
import type { EngineClient } from './engine-client';
import { MEDIA_TYPES } from './media';

const log = createLogger('http');

/** Largest request body accepted, in bytes. */
const MAX_BODY = 1024 * 1024;

/** Where `vite build` puts the renderer, relative to this compiled file (dist/src-main/server). */
export const DEFAULT_RENDERER_DIR = path.resolve(__dirname, '..', '..', 'renderer');

const STATIC_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** The page's content security policy: scripts only from this server, no framing, no plugins. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  // Svelte writes element style attributes for zoom and pan; no inline script is ever allowed.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface ServeOptions {
  engine: EngineClient;
  port?: number;
  rendererDir?: string;
  /** Fixed token for tests; random per run otherwise. */
  token?: string;
}

/** Event-loop delay measured on the serving thread during the last scan, in milliseconds. */
export interface LoopDelayReport {
  maxMs: number;
  p99Ms: number;
  meanMs: number;
  scans: number;
  /** True while a scan runs (the figures then cover the scan so far). */
  scanning: boolean;
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  loopDelay(): LoopDelayReport;
  close(): Promise<void>;
}

/** Starts the HTTP server on 127.0.0.1 and resolves once it listens. */
export async function startHttpServer(options: ServeOptions): Promise<RunningServer> {
  const token = options.token ?? crypto.randomBytes(24).toString('base64url');
  const rendererDir = options.rendererDir ?? DEFAULT_RENDERER_DIR;
  const sse = new Set<http.ServerResponse>();
  const loop = trackLoopDelay(options.engine);
  let port = 0;

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error('request failed', err);
      if (!res.headersSent) sendJson(res, 500, { ok: false, error: toWireError(err) });
      else res.end();
    });
  });

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const refusal = refuse(req, url, port, token);
    if (refusal) return sendRefusal(res, refusal.status, refusal.error);

    if (url.searchParams.get('token') === token) {
      res.setHeader(
        'Set-Cookie',
        `${cookieName(port)}=${token}; Path=/; HttpOnly; SameSite=Strict`,
      );
    }
    if (req.method === 'POST' && url.pathname.startsWith('/api/call/')) {
      return handleCall(req, res, decodeURIComponent(url.pathname.slice('/api/call/'.length)));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return sendRefusal(
        res,
        405,
        new AppError('NOT_FOUND', { what: `${req.method} ${url.pathname}` }),
      );
    }
    if (url.pathname === '/api/events') return openEvents(res);
    if (url.pathname === '/api/diagnostics')
      return sendJson(res, 200, { eventLoop: loop.report() });
    if (url.pathname === '/media') return serveMedia(res, url.searchParams.get('path') ?? '');
    return serveStatic(res, url.pathname);
  };

  const handleCall = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    channel: string,
  ): Promise<void> => {
    // The channel first: a call to no channel is "unknown channel" whatever its body.
    if (!isChannel(channel)) {
      return sendRefusal(
        res,
        404,
        new AppError('UNKNOWN_CHANNEL', { channel: channel.slice(0, 80) }),
      );
    }
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return sendRefusal(
        res,
        415,
        new AppError('INVALID_REQUEST', { channel, detail: 'the body must be JSON' }),
      );
    }
    const body = await readBody(req);
    if (body === null) {
      return sendRefusal(
        res,
        413,
        new AppError('INVALID_REQUEST', { channel, detail: 'the body is too large' }),
      );
    }
    let payload: unknown;
    try {
      payload = body.length ? JSON.parse(body) : {};
    } catch {
      return sendRefusal(
        res,
        400,
        new AppError('INVALID_REQUEST', { channel, detail: 'the body is not valid JSON' }),
      );
    }
    const parsed = parseRequest(channel, payload);
    if (!parsed.ok) {
      return sendRefusal(
        res,
        400,
        new AppError('INVALID_REQUEST', { channel, detail: parsed.reason }),
      );
    }
    const envelope = await options.engine.call(channel, parsed.value);
    sendJson(res, 200, envelope);
  };

  const openEvents = (res: http.ServerResponse): void => {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
    });
    res.write('retry: 1000\n\n');
    sse.add(res);
    res.on('close', () => sse.delete(res));
  };

  const serveMedia = async (res: http.ServerResponse, requested: string): Promise<void> => {
    const resolved = await options.engine.resolveMedia(requested);
    if (!resolved.ok) {
      return sendRefusal(
        res,
        403,
        new AppError('MEDIA_REFUSED', { path: requested, reason: resolved.reason }),
      );
    }
    const type =
      MEDIA_TYPES[path.extname(resolved.path).toLowerCase()] ?? 'application/octet-stream';
    res.writeHead(200, {
      'Content-Type': type,
      'Content-Length': resolved.size,
      'Cache-Control': 'private, max-age=60',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "default-src 'none'",
    });
    fs.createReadStream(resolved.path)
      .on('error', () => res.destroy())
      .pipe(res);
  };

  const serveStatic = async (res: http.ServerResponse, pathname: string): Promise<void> => {
    const relative = pathname === '/' ? 'index.html' : pathname.replace(/^\/+/, '');
    const file = path.resolve(rendererDir, relative);
    const inside = file.startsWith(rendererDir + path.sep);
    const ext = path.extname(file);
    const exists =
      inside &&
      (await fs.promises.stat(file).then(
        (s) => s.isFile(),
        () => false,
      ));
    if (!exists) {
      // The renderer has no client-side routes: any other path is simply not found. Only the
      // page itself missing means the renderer is not built.
      if (pathname === '/') return sendIndexMissing(res, rendererDir);
      return sendRefusal(res, 404, new AppError('NOT_FOUND', { what: pathname.slice(0, 200) }));
    }
    res.writeHead(200, {
      'Content-Type': STATIC_TYPES[ext] ?? 'application/octet-stream',
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-cache',
    });
    fs.createReadStream(file).pipe(res);
  };

  for (const name of EVENT_NAMES) {
    options.engine.on(name, (payload) => {
      const frame = `event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`;
      for (const res of sse) res.write(frame);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    loopDelay: () => loop.report(),
    close: async () => {
      for (const res of sse) res.end();
      loop.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await options.engine.close();
    },
  };
}

/**
 * Why a request is refused before routing, or null when it may go on. Order matters: a wrong
 * Host (a DNS-rebinding page) is refused even when it carries the token.
 */
export function refuse(
  req: http.IncomingMessage,
  url: URL,
  port: number,
  token: string,
): { status: number; error: AppError } | null {
  const allowedHosts = [`127.0.0.1:${port}`, `localhost:${port}`];
  const host = (req.headers.host ?? '').toLowerCase();
  if (!allowedHosts.includes(host)) {
    return {
      status: 421,
      error: new AppError('ACCESS_DENIED', {
        detail: `unexpected Host header "${host.slice(0, 100)}"`,
      }),
    };
  }
  const origin = req.headers.origin;
  if (origin !== undefined && !allowedHosts.some((h) => origin === `http://${h}`)) {
    return {
      status: 403,
      error: new AppError('ACCESS_DENIED', {
        detail: `requests from ${origin.slice(0, 100)} are not allowed`,
      }),
    };
  }
  const given =
    headerValue(req.headers['x-doppel-token']) ??
    readCookie(req.headers.cookie, cookieName(port)) ??
    url.searchParams.get('token');
  if (!given || !sameToken(given, token)) {
    return {
      status: 401,
      error: new AppError('ACCESS_DENIED', { detail: given ? 'wrong token' : 'no token' }),
    };
  }
  return null;
}

function cookieName(port: number): string {
  return `doppel_token_${port}`;
}

function headerValue(value: string | string[] | undefined): string | null {
  return typeof value === 'string' ? value : null;
}

function readCookie(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return null;
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

function readBody(req: http.IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        resolve(null);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(body);
}

function sendRefusal(res: http.ServerResponse, status: number, error: AppError): void {
  const envelope: Envelope<never> = { ok: false, error: toWireError(error) };
  sendJson(res, status, envelope);
}

function sendIndexMissing(res: http.ServerResponse, dir: string): void {
  const body = `The renderer is not built (no ${path.join(dir, 'index.html')}). Run npm run build:renderer.\n`;
  res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(body);
}

/**
 * Measures this thread's event-loop delay. The histogram restarts when a scan starts, and its
 * figures are frozen when the scan ends, so they describe the scan (the moment the UI most needs
 * this thread free) and nothing after it. While a scan runs, the figures so far are reported.
 */
function trackLoopDelay(engine: EngineClient): { report: () => LoopDelayReport; stop: () => void } {
  const histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  let scans = 0;
  let frozen: LoopDelayReport | null = null;
  const runningScans = new Set<string>();
  const live = (): LoopDelayReport => ({
    maxMs: round(histogram.max / 1e6),
    p99Ms: round(histogram.percentile(99) / 1e6),
    meanMs: round(histogram.mean / 1e6),
    scans,
    scanning: runningScans.size > 0,
  });
  engine.on('app:job:updated', (job: JobDto) => {
    if (job.kind !== 'scan') return;
    const active = job.state === 'running' || job.state === 'paused';
    if (active && !runningScans.has(job.id)) {
      runningScans.add(job.id);
      scans += 1;
      frozen = null;
      histogram.reset();
    }
    if (!active && runningScans.delete(job.id)) {
      frozen = live();
      process.stderr.write(
        `doppel serve: scan ${job.state}; event-loop delay on the serving thread: ` +
          `max ${frozen.maxMs} ms, p99 ${frozen.p99Ms} ms\n`,
      );
    }
  });
  return {
    report: () => (runningScans.size > 0 || !frozen ? live() : { ...frozen, scans }),
    stop: () => histogram.disable(),
  };
}

function round(n: number): number {
  return Number.isFinite(n) ? Math.round(n * 10) / 10 : 0;
}
