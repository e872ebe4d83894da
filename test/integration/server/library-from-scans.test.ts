/**
 * `doppel serve` over a database scanned with the CLI: the library lists the roots of completed
 * scans (once, next to folders added in the app), `/media` serves the photos the database knows
 * and nothing else in those folders, add-folder refuses relative paths and the filesystem root,
 * unknown pages are 404 (503 only when the renderer is really missing), and a call to an unknown
 * channel is 404 whatever its content type.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpServer, type RunningServer } from '../../../src-main/server/http-server';
import { startInProcessEngine } from '../../helpers/in-process-engine';
import { seedPhoto, seedScan } from '../../helpers/seed-scan';

interface Reply {
  status: number;
  body: string;
}

let tmp: string;
let lib: string;
let sub: string;
let renderer: string;
let server: RunningServer;

function request(
  target: RunningServer,
  pathAndQuery: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: target.port,
        path: pathAndQuery,
        method: opts.method ?? 'GET',
        headers: {
          host: `127.0.0.1:${target.port}`,
          'x-doppel-token': target.token,
          ...opts.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

async function call(channel: string, payload: unknown): Promise<Reply> {
  return request(server, `/api/call/${channel}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
}

async function folders(): Promise<string[]> {
  const r = JSON.parse((await call('app:library:get', {})).body);
  expect(r.ok).toBe(true);
  return r.value.folders;
}

function media(requested: string): Promise<Reply> {
  return request(server, `/media?path=${encodeURIComponent(requested)}`);
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'doppel-scanned-'));
  lib = path.join(tmp, 'lib');
  sub = path.join(lib, 'sub');
  renderer = path.join(tmp, 'renderer');
  fs.mkdirSync(sub, { recursive: true });
  fs.mkdirSync(path.join(tmp, 'gone-wrong'));
  fs.mkdirSync(renderer);
  fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>Doppel</title>');
  fs.writeFileSync(path.join(lib, 'a.jpg'), 'JPEG-A');
  fs.writeFileSync(path.join(sub, 'b.jpg'), 'JPEG-B');
  fs.writeFileSync(path.join(lib, 'notes.txt'), 'PRIVATE-NOTES');
  fs.writeFileSync(path.join(lib, 'clip.mov'), 'MOVIE');
  fs.writeFileSync(path.join(lib, 'bad.jpg'), 'BROKEN');
  // The database lies inside the scanned folder, as `--db` in the library would put it.
  const { client, host } = startInProcessEngine({ dbFile: path.join(lib, 'doppel.sqlite') });
  await client.ready;
  // What `doppel scan lib/sub` then `doppel scan lib` leave, and a scan that failed.
  const first = seedScan(host.db, [sub]);
  seedPhoto(host.db, path.join(sub, 'b.jpg'), first);
  const second = seedScan(host.db, [lib]);
  seedPhoto(host.db, path.join(lib, 'a.jpg'), second);
  seedPhoto(host.db, path.join(lib, 'clip.mov'), second, 'ignored');
  seedPhoto(host.db, path.join(lib, 'bad.jpg'), second, 'problem');
  seedScan(host.db, [path.join(tmp, 'gone-wrong')], 'failed');
  server = await startHttpServer({ engine: client, rendererDir: renderer });
});

afterAll(async () => {
  await server?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('serve a library scanned with the CLI', () => {
  it('lists the roots of completed scans as library folders, a nested root once', async () => {
    expect(await folders()).toEqual([lib]);
  });

  it('serves the scanned photos', async () => {
    const a = await media(path.join(lib, 'a.jpg'));
    expect(a.status).toBe(200);
    expect(a.body).toBe('JPEG-A');
    expect((await media(path.join(sub, 'b.jpg'))).body).toBe('JPEG-B');
  });

  it('does not duplicate a scanned folder added again, with or without a trailing slash', async () => {
    for (const p of [lib, `${lib}/`]) {
      const r = JSON.parse((await call('app:library:add-folder', { path: p })).body);
      expect(r.ok, p).toBe(true);
      expect(r.value.folders, p).toEqual([lib]);
    }
    expect(await folders()).toEqual([lib]);
  });

  it('removes a scanned folder for good, and adds it back', async () => {
    const removed = JSON.parse((await call('app:library:remove-folder', { path: lib })).body);
    // The earlier, nested scan root is no longer covered by lib, so it shows on its own.
    expect(removed.value.folders).toEqual([sub]);
    expect(await folders()).toEqual([sub]);
    expect((await media(path.join(lib, 'a.jpg'))).status).toBe(403);
    const added = JSON.parse((await call('app:library:add-folder', { path: lib })).body);
    expect(added.value.folders).toEqual([lib]);
    expect((await media(path.join(lib, 'a.jpg'))).status).toBe(200);
  });

  it('serves nothing but known, readable photos from the library folders', async () => {
    const refused: [string, string][] = [
      ['a text file', path.join(lib, 'notes.txt')],
      ['the database itself', path.join(lib, 'doppel.sqlite')],
      ['a file the scan ignored', path.join(lib, 'clip.mov')],
      ['a file with a problem', path.join(lib, 'bad.jpg')],
      ['a photo under another spelling', `${lib}/./a.jpg`],
      ['a photo under a doubled slash', `${lib}//a.jpg`],
    ];
    for (const [name, p] of refused) {
      const r = await media(p);
      expect(r.status, name).toBe(403);
      const body = JSON.parse(r.body);
      expect(body.error.code, name).toBe('MEDIA_REFUSED');
      expect(body.error.message, name).toMatch(/not a photo of the library/);
      expect(r.body, name).not.toMatch(/PRIVATE-NOTES|MOVIE|BROKEN|SQLite/);
    }
  });

  it('refuses the filesystem root as a library folder, and /etc/passwd stays out', async () => {
    const r = await call('app:library:add-folder', { path: '/' });
    expect(r.status).toBe(200);
    const body = JSON.parse(r.body);
    expect(body.ok).toBe(false);
    expect(body.error.code).toBe('BAD_ARGUMENT');
    expect(body.error.message).toMatch(/root of the whole disk/);
    expect(await folders()).toEqual([lib]);
    expect((await media('/etc/passwd')).status).toBe(403);
  });

  it('refuses relative paths in folder calls with 400', async () => {
    for (const channel of ['app:library:add-folder', 'app:library:remove-folder']) {
      for (const p of ['relative/dir', '.', 'lib']) {
        const r = await call(channel, { path: p });
        expect(r.status, `${channel} ${p}`).toBe(400);
        const body = JSON.parse(r.body);
        expect(body.error.code).toBe('INVALID_REQUEST');
        expect(body.error.message).toMatch(/absolute/);
      }
    }
    expect(await folders()).toEqual([lib]);
  });

  it('answers 404 for unknown pages and serves the renderer at /', async () => {
    expect((await request(server, '/')).status).toBe(200);
    for (const p of ['/review', '/groups/12', '/assets/missing.js']) {
      const r = await request(server, p);
      expect(r.status, p).toBe(404);
      expect(JSON.parse(r.body).error.code, p).toBe('NOT_FOUND');
    }
  });

  it('answers 503 only when the renderer is really not built', async () => {
    const empty = path.join(tmp, 'no-renderer');
    fs.mkdirSync(empty);
    const { client } = startInProcessEngine({ dbFile: path.join(tmp, 'other.sqlite') });
    await client.ready;
    const bare = await startHttpServer({ engine: client, rendererDir: empty });
    try {
      const page = await request(bare, '/');
      expect(page.status).toBe(503);
      expect(page.body).toMatch(/not built/);
      expect((await request(bare, '/review')).status).toBe(404);
    } finally {
      await bare.close();
    }
  });

  it('answers an unknown channel with 404 whatever the content type', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/json']) {
      const r = await request(server, '/api/call/app:files:delete-everything', {
        method: 'POST',
        headers: { 'content-type': type },
        body: '{}',
      });
      expect(r.status, type).toBe(404);
      expect(JSON.parse(r.body).error.code, type).toBe('UNKNOWN_CHANNEL');
    }
    const known = await request(server, '/api/call/app:library:get', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{}',
    });
    expect(known.status).toBe(415);
  });
});
