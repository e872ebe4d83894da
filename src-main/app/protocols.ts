/**
 * The app's two custom schemes: `doppel-app:` serves the built renderer (so the page has a real
 * origin and a CSP header), `doppel-media:` serves photos, only from inside the library folders
 * (the engine decides; see server/media.ts for the rules).
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { net, protocol } from 'electron';
import type { EngineClient } from '../server/engine-client';
import { MEDIA_TYPES } from '../server/media';

export const APP_SCHEME = 'doppel-app';
export const MEDIA_SCHEME = 'doppel-media';
/** The page's origin; IPC senders must be frames of it. */
export const APP_ORIGIN = `${APP_SCHEME}://app`;

/** The renderer's CSP in the app: like browser mode, plus photos from the media scheme. */
export const APP_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  `img-src 'self' ${MEDIA_SCHEME}: blob: data:`,
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Must run before the app is ready. */
export function registerSchemes(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
    { scheme: MEDIA_SCHEME, privileges: { standard: true, secure: true, stream: true } },
  ]);
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Serves `rendererDir` under doppel-app://app/ and photos under doppel-media://media/?path=. */
export function handleSchemes(rendererDir: string, engine: EngineClient): void {
  const root = path.resolve(rendererDir);
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    if (url.host !== 'app') return new Response('Not found', { status: 404 });
    const relative = decodeURIComponent(url.pathname).replace(/^\/+/, '') || 'index.html';
    const file = path.resolve(root, relative);
    if (!file.startsWith(root + path.sep) || !fs.existsSync(file)) {
      return new Response('Not found', { status: 404 });
    }
    return new Response(await fs.promises.readFile(file), {
      headers: {
        'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
        'Content-Security-Policy': APP_CSP,
        'X-Content-Type-Options': 'nosniff',
      },
    });
  });
  protocol.handle(MEDIA_SCHEME, async (request) => {
    const requested = new URL(request.url).searchParams.get('path') ?? '';
    const resolved = await engine.resolveMedia(requested);
    if (!resolved.ok) return new Response(`Refused: ${resolved.reason}`, { status: 403 });
    const response = await net.fetch(pathToFileURL(resolved.path).toString());
    const type = MEDIA_TYPES[path.extname(resolved.path).toLowerCase()];
    return new Response(response.body, {
      status: response.status,
      headers: {
        'Content-Type': type ?? 'application/octet-stream',
        'X-Content-Type-Options': 'nosniff',
      },
    });
  });
}
