import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLexically, resolveMediaPath } from '../../../src-main/server/media';

let tmp: string;
let lib: string;
/** Every file counts as a known photo, so the path rules are what is tested. */
const anyPhoto = (): boolean => true;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'doppel-media-'));
  lib = path.join(tmp, 'lib');
  fs.mkdirSync(path.join(lib, 'sub'), { recursive: true });
  fs.mkdirSync(path.join(tmp, 'out'));
  fs.writeFileSync(path.join(lib, 'sub', 'a.jpg'), 'x');
  fs.writeFileSync(path.join(tmp, 'out', 'b.jpg'), 'y');
  fs.symlinkSync(path.join(tmp, 'out', 'b.jpg'), path.join(lib, 'b.jpg'));
  fs.symlinkSync(path.join(lib, 'sub', 'a.jpg'), path.join(lib, 'inside-link.jpg'));
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('media path rules', () => {
  it('refuses traversal, leftover encoding, relative paths and siblings by prefix', () => {
    const refused: [string, RegExp][] = [
      [`${lib}/../out/b.jpg`, /parent-folder/],
      [`${lib}/sub/%2e%2e/%2e%2e/out/b.jpg`, /encoded/],
      [`${lib}/sub/..%2f..%2fout/b.jpg`, /encoded/],
      ['sub/a.jpg', /absolute/],
      [`${lib}-other/a.jpg`, /outside/],
      [lib, /outside/],
      ['', /empty/],
      [`${lib}/a\0.jpg`, /NUL/],
    ];
    for (const [p, reason] of refused) {
      const r = checkLexically(p, [lib]);
      expect(r.ok, p).toBe(false);
      expect(!r.ok && r.reason, p).toMatch(reason);
    }
  });

  it('serves a real file inside the library, through an inside link too', async () => {
    expect(await resolveMediaPath(path.join(lib, 'sub', 'a.jpg'), [lib], anyPhoto)).toMatchObject({
      ok: true,
      size: 1,
    });
    expect(
      await resolveMediaPath(path.join(lib, 'inside-link.jpg'), [lib], anyPhoto),
    ).toMatchObject({
      ok: true,
      path: fs.realpathSync(path.join(lib, 'sub', 'a.jpg')),
    });
  });

  it('refuses a symbolic link that leads out, a folder and a missing file', async () => {
    expect(await resolveMediaPath(path.join(lib, 'b.jpg'), [lib], anyPhoto)).toEqual({
      ok: false,
      reason: 'a symbolic link leads outside the library folders',
    });
    expect(await resolveMediaPath(path.join(lib, 'sub'), [lib], anyPhoto)).toEqual({
      ok: false,
      reason: 'not a file',
    });
    expect(await resolveMediaPath(path.join(lib, 'nope.jpg'), [lib], anyPhoto)).toEqual({
      ok: false,
      reason: 'no such file',
    });
  });

  it('refuses a file inside the library that is not a known photo, by exact path', async () => {
    const known = path.join(lib, 'sub', 'a.jpg');
    const isPhoto = (p: string): boolean => p === known;
    expect(await resolveMediaPath(known, [lib], isPhoto)).toMatchObject({ ok: true });
    for (const p of [
      path.join(lib, 'inside-link.jpg'),
      `${lib}/sub/./a.jpg`,
      `${lib}//sub/a.jpg`,
    ]) {
      expect(await resolveMediaPath(p, [lib], isPhoto), p).toEqual({
        ok: false,
        reason: 'not a photo of the library',
      });
    }
  });

  it('serves nothing when the library has no folders', async () => {
    expect((await resolveMediaPath(path.join(lib, 'sub', 'a.jpg'), [], anyPhoto)).ok).toBe(false);
  });
});
