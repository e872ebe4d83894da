/**
 * Browser mode refuses what it must: requests without the token or with a wrong one, a foreign
 * Host header (DNS rebinding), a foreign Origin, non-JSON calls, unknown channels, invalid
 * payloads, and media outside the library (`..`, encoded traversal, symbolic links out).
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpServer, type RunningServer } from '../../../src-main/server/http-server';
import { startInProcessEngine } from '../../helpers/in-process-engine';
import { seedPhoto } from '../../helpers/seed-scan';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let tmp: string;
let library: string;
let outside: string;
let server: RunningServer;

function request(
  pathAndQuery: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: server.port,
        path: pathAndQuery,
        method: opts.method ?? 'GET',
        headers: { host: `127.0.0.1:${server.port}`, ...opts.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

function call(
  channel: string,
  payload: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return request(`/api/call/${channel}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-doppel-token': server.token, ...headers },
    body: JSON.stringify(payload),
  });
}

function media(requested: string, encoded = encodeURIComponent(requested)): Promise<Reply> {
  return request(`/media?path=${encoded}`, { headers: { 'x-doppel-token': server.token } });
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'doppel-http-'));
  library = path.join(tmp, 'library');
  outside = path.join(tmp, 'outside');
  const renderer = path.join(tmp, 'renderer');
  fs.mkdirSync(library);
  fs.mkdirSync(outside);
  fs.mkdirSync(renderer);
  fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>Doppel</title>');
  fs.writeFileSync(path.join(library, 'a.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xd9]));
  fs.writeFileSync(path.join(outside, 'secret.jpg'), 'TOP-SECRET-CONTENT');
  fs.symlinkSync(path.join(outside, 'secret.jpg'), path.join(library, 'link-out.jpg'));
  fs.symlinkSync(outside, path.join(library, 'dir-out'));
  const { client, host } = startInProcessEngine({ dbFile: path.join(tmp, 'db.sqlite') });
  await client.ready;
  // Known as photos, so the symbolic links are refused for where they lead, not for being unknown.
  for (const p of ['a.jpg', 'link-out.jpg', path.join('dir-out', 'secret.jpg')]) {
    seedPhoto(host.db, path.join(library, p), 1);
  }
  server = await startHttpServer({ engine: client, rendererDir: renderer });
  const added = await call('app:library:add-folder', { path: library });
  expect(JSON.parse(added.body).ok).toBe(true);
});

afterAll(async () => {
  await server?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('doppel serve access rules', () => {
  it('listens on 127.0.0.1 only and prints a URL with the token', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${server.token}`);
    expect(server.token.length).toBeGreaterThanOrEqual(32);
  });

  it('refuses the page, calls, events and media without the token', async () => {
    for (const p of [
      '/',
      '/api/events',
      `/media?path=${encodeURIComponent(path.join(library, 'a.jpg'))}`,
    ]) {
      const r = await request(p);
      expect(r.status, p).toBe(401);
      expect(JSON.parse(r.body).error.code).toBe('ACCESS_DENIED');
    }
    const r = await call('app:library:get', {}, { 'x-doppel-token': '' });
    expect(r.status).toBe(401);
  });

  it('refuses a wrong token of the right length', async () => {
    const wrong = server.token.replace(/./, (c) => (c === 'a' ? 'b' : 'a'));
    expect((await request(`/?token=${wrong}`)).status).toBe(401);
    expect((await call('app:library:get', {}, { 'x-doppel-token': wrong })).status).toBe(401);
  });

  it('serves the page with the token, sets a strict cookie and a CSP', async () => {
    const r = await request(`/?token=${server.token}`);
    expect(r.status).toBe(200);
    expect(r.headers['set-cookie']?.[0]).toMatch(/HttpOnly; SameSite=Strict/);
    expect(r.headers['content-security-policy']).toContain("script-src 'self'");
    const cookie = r.headers['set-cookie']![0].split(';')[0];
    expect((await request('/', { headers: { cookie } })).status).toBe(200);
  });

  it('refuses a foreign Host header even with the token (DNS rebinding)', async () => {
    for (const host of [
      'evil.example',
      `evil.example:${server.port}`,
      `127.0.0.1:${server.port + 1}`,
    ]) {
      const r = await request(`/?token=${server.token}`, { headers: { host } });
      expect(r.status, host).toBe(421);
    }
    expect(
      (await request(`/?token=${server.token}`, { headers: { host: `localhost:${server.port}` } }))
        .status,
    ).toBe(200);
  });

  it('refuses calls from a foreign Origin and calls that are not JSON', async () => {
    expect((await call('app:library:get', {}, { origin: 'http://evil.example' })).status).toBe(403);
    const form = await request('/api/call/app:library:get', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-doppel-token': server.token },
      body: '{}',
    });
    expect(form.status).toBe(415);
  });

  it('refuses unknown channels and invalid payloads with a reason', async () => {
    const unknown = await call('app:files:delete-everything', {});
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body).error.code).toBe('UNKNOWN_CHANNEL');

    const extra = await call('app:library:get', { sneaky: true });
    expect(extra.status).toBe(400);
    expect(JSON.parse(extra.body).error.code).toBe('INVALID_REQUEST');

    const wrongType = await call('app:groups:get', { groupId: 'one' });
    expect(JSON.parse(wrongType.body).error.message).toMatch(/groupId/);

    const notJson = await request('/api/call/app:library:get', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-doppel-token': server.token },
      body: '{nope',
    });
    expect(notJson.status).toBe(400);
  });

  it('answers a valid call with an ok envelope, and an engine error as a catalog error', async () => {
    const ok = JSON.parse((await call('app:library:get', {})).body);
    expect(ok).toEqual({
      ok: true,
      value: { folders: [library], exclusions: [], protectedFolders: [] },
    });
    const missing = JSON.parse(
      (await call('app:library:add-folder', { path: path.join(tmp, 'nope') })).body,
    );
    expect(missing.ok).toBe(false);
    expect(missing.error.code).toBe('FOLDER_NOT_FOUND');
  });

  it('serves a photo inside the library', async () => {
    const r = await media(path.join(library, 'a.jpg'));
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('image/jpeg');
  });

  it('refuses media outside the library, by traversal, encoded traversal or symbolic link', async () => {
    const cases: [string, string][] = [
      ['outside', encodeURIComponent(path.join(outside, 'secret.jpg'))],
      ['dot-dot', encodeURIComponent(`${library}/../outside/secret.jpg`)],
      ['double-encoded dot-dot', encodeURIComponent(`${library}/%2e%2e/outside/secret.jpg`)],
      ['encoded slash', encodeURIComponent(`${library}/..%2foutside/secret.jpg`)],
      ['symlink to a file out', encodeURIComponent(path.join(library, 'link-out.jpg'))],
      ['symlink to a folder out', encodeURIComponent(path.join(library, 'dir-out', 'secret.jpg'))],
      ['relative', encodeURIComponent('library/a.jpg')],
      ['NUL byte', encodeURIComponent(`${library}/a.jpg\0.png`)],
      ['prefix sibling', encodeURIComponent(`${library}-evil/a.jpg`)],
    ];
    for (const [name, encoded] of cases) {
      const r = await media('', encoded);
      expect(r.status, name).toBe(403);
      expect(r.body, name).not.toContain('TOP-SECRET-CONTENT');
      expect(JSON.parse(r.body).error.code, name).toBe('MEDIA_REFUSED');
    }
  });
});
