/**
 * `app:groups:get` carries each photo's bundle (RAW+JPEG, Live Photo, edited version) and the
 * companion files that travel with it, as `groups --json` reports them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GroupDetailDto, GroupListDto } from '../../../src-main/contract/ipc';
import { CompanionRepository } from '../../../src-main/engine/db/companion.repository';
import { PhotoRepository } from '../../../src-main/engine/db/photo.repository';
import type { EngineClient } from '../../../src-main/server/engine-client';
import { startInProcessEngine } from '../../helpers/in-process-engine';
import { seedPhoto, seedScan } from '../../helpers/seed-scan';

let tmp: string;
let lib: string;
let client: EngineClient;
let pairGroupId: () => number;
const ids: Record<string, number> = {};

function file(name: string): string {
  const p = path.join(lib, name);
  fs.writeFileSync(p, `bytes of ${name}`);
  return p;
}

async function call<T>(
  channel: 'app:groups:get' | 'app:groups:list',
  payload: unknown,
): Promise<T> {
  const reply = await client.call(channel, payload);
  if (!reply.ok) throw new Error(reply.error.message);
  return reply.value as T;
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'doppel-bundles-'));
  lib = path.join(tmp, 'lib');
  fs.mkdirSync(lib);
  const engine = startInProcessEngine({
    dbFile: path.join(tmp, 'doppel.sqlite'),
    modelDir: path.resolve(__dirname, '../../fixtures/tiny-model'),
  });
  client = engine.client;
  await client.ready;
  const db = engine.host.db;
  pairGroupId = () =>
    (db.prepare(`SELECT id FROM groups WHERE label = 'raw+jpeg'`).get() as { id: number }).id;
  const scan = seedScan(db, [lib]);
  for (const name of ['IMG_0001.JPG', 'IMG_0001.CR2', 'IMG_0002.HEIC', 'IMG_E0001.JPG', 'b.jpg']) {
    ids[name] = seedPhoto(db, file(name), scan);
  }
  const companions = new CompanionRepository(db);
  for (const [photo, name, kind] of [
    ['IMG_0001.CR2', 'IMG_0001.xmp', 'xmp'],
    ['IMG_0002.HEIC', 'IMG_0002.MOV', 'live-video'],
  ] as const) {
    const p = file(name);
    companions.add(ids[photo], {
      path: p,
      pathBytes: Buffer.from(p),
      size: fs.statSync(p).size,
      mtimeMs: fs.statSync(p).mtimeMs,
      kind,
    });
  }
  new PhotoRepository(db).replaceGroups([
    {
      kind: 'near-duplicate',
      label: null,
      members: ['IMG_0001.JPG', 'IMG_0002.HEIC', 'IMG_E0001.JPG', 'b.jpg'].map((n, i) => ({
        photoId: ids[n],
        distance: i * 0.05,
      })),
    },
    {
      kind: 'near-duplicate',
      label: 'raw+jpeg',
      members: [
        { photoId: ids['IMG_0001.JPG'], distance: 0 },
        { photoId: ids['IMG_0001.CR2'], distance: 0.02 },
      ],
    },
  ]);
});

afterAll(async () => {
  await client?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('group detail bundles', () => {
  it('never lists a RAW+JPEG pair as a group to act on, nor opens one', async () => {
    const list = await call<GroupListDto>('app:groups:list', {});
    expect(list.groups).toHaveLength(1);
    const pair = pairGroupId();
    expect(list.groups.map((g) => g.id)).not.toContain(pair);
    await expect(call('app:groups:get', { groupId: pair })).rejects.toThrow(/group/i);
  });

  it("names each photo's bundle and lists its companion files", async () => {
    const list = await call<GroupListDto>('app:groups:list', {});
    expect(list.groups).toHaveLength(1);
    const detail = await call<GroupDetailDto>('app:groups:get', { groupId: list.groups[0].id });
    const byName = new Map(detail.photos.map((p) => [path.basename(p.path), p]));
    expect(byName.get('IMG_0001.JPG')).toMatchObject({
      bundle: 'raw+jpeg',
      companions: [path.join(lib, 'IMG_0001.CR2'), path.join(lib, 'IMG_0001.xmp')],
    });
    expect(byName.get('IMG_0002.HEIC')).toMatchObject({
      bundle: 'live-photo',
      companions: [path.join(lib, 'IMG_0002.MOV')],
    });
    expect(byName.get('IMG_E0001.JPG')).toMatchObject({ bundle: 'edited-version', companions: [] });
    expect(byName.get('b.jpg')).toMatchObject({ bundle: null, companions: [] });
  });
});
