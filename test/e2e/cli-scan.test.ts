/**
 * The CLI end to end on a generated library: exact copies, resized, re-encoded and EXIF-rotated
 * copies, unrelated photos and every kind of bad input. Runs the built `doppel` binary.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, sharedPath } from '../helpers/shared-data';

const BIN = path.join(REPO_ROOT, 'bin', 'doppel.js');
const TRAIN = sharedPath('datasets', 'train', 'imagenet-samples');
const FORMATS = sharedPath('samples', 'formats');

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function doppel(args: string[], env: Record<string, string> = {}): RunResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 240_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** sha256 of every file under `dir` (by raw relative path), to prove a scan changed nothing. */
function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (d: Buffer): void => {
    for (const name of fs.readdirSync(d, { encoding: 'buffer' })) {
      const p = Buffer.concat([d, Buffer.from('/'), name]);
      const key = p.subarray(dir.length + 1).toString('latin1');
      const st = fs.lstatSync(p);
      if (st.isSymbolicLink())
        out[key] = 'link:' + fs.readlinkSync(p, { encoding: 'buffer' }).toString('latin1');
      else if (st.isDirectory()) visit(p);
      else {
        let digest = 'unreadable';
        try {
          digest = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
        } catch {
          // mode 000 as non-root
        }
        out[key] = `${st.mtimeMs}:${digest}`;
      }
    }
  };
  visit(Buffer.from(dir));
  return out;
}

const describeIfData = TRAIN ? describe : describe.skip;
if (!TRAIN)
  console.warn('cli-scan: ../shared/datasets/train is absent; the CLI end-to-end test is skipped.');

describeIfData('doppel CLI on a generated library', () => {
  let tmp: string;
  let lib: string;
  let db: string;
  const originals: string[] = [];
  const families: Map<string, string[]> = new Map();
  let before: Record<string, string>;
  let scan: RunResult;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'doppel-e2e-'));
    lib = path.join(tmp, 'library');
    db = path.join(tmp, 'cache.sqlite');
    fs.mkdirSync(path.join(lib, 'copies', 'deeper'), { recursive: true });
    fs.mkdirSync(path.join(lib, 'bad'), { recursive: true });
    const sources = fs
      .readdirSync(TRAIN!)
      .sort()
      .flatMap((d) => fs.readdirSync(path.join(TRAIN!, d)).map((f) => path.join(TRAIN!, d, f)))
      .filter((f) => /\.(jpe?g|png)$/i.test(f));
    // Every 97th photo: spread over unrelated classes.
    const picked = sources.filter((_, i) => i % 97 === 0).slice(0, 12);
    for (const [i, src] of picked.entries()) {
      const name = `photo${i}.jpg`;
      const original = path.join(lib, name);
      await sharp(src).rotate().jpeg({ quality: 92 }).toFile(original);
      if (i >= 6) continue; // the rest stay unrelated, with no copies
      originals.push(original);
      const family = [original];
      const exact = path.join(lib, 'copies', `exact-${name}`);
      fs.copyFileSync(original, exact);
      const resized = path.join(lib, 'copies', `resized-${i}.png`);
      const meta = await sharp(original).metadata();
      await sharp(original)
        .resize(Math.round(meta.width! / 2))
        .png()
        .toFile(resized);
      const reencoded = path.join(lib, 'copies', 'deeper', `reencoded-${i}.webp`);
      await sharp(original).webp({ quality: 45 }).toFile(reencoded);
      // Pixels stored turned 90 degrees left, plus EXIF orientation 6: displays like the original.
      const rotated = path.join(lib, 'copies', `rotated-${i}.jpg`);
      await sharp(original).rotate(-90).withMetadata({ orientation: 6 }).jpeg().toFile(rotated);
      family.push(exact, resized, reencoded, rotated);
      families.set(original, family);
    }
    // Bad inputs, each a problem with a reason.
    const bad = path.join(lib, 'bad');
    fs.writeFileSync(path.join(bad, 'empty.jpg'), Buffer.alloc(0));
    const full = fs.readFileSync(originals[0]);
    fs.writeFileSync(
      path.join(bad, 'truncated.jpg'),
      full.subarray(0, Math.floor(full.length / 3)),
    );
    const header = Buffer.from(full);
    header.fill(0x55, 2, 400);
    fs.writeFileSync(path.join(bad, 'corrupt-header.jpg'), header);
    fs.writeFileSync(path.join(bad, 'notes.txt'), 'not a photo at all\n');
    fs.writeFileSync(path.join(bad, 'text-named.jpg'), 'not a photo either, despite its name\n');
    fs.copyFileSync(originals[1], path.join(bad, 'really-a-jpeg.HEIC'));
    await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } })
      .png()
      .toFile(path.join(bad, 'one-pixel.png'));
    // Tiny images differ only in pixels a 160 px input cannot tell apart.
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#7a7f85' } })
      .png()
      .toFile(path.join(bad, 'badge-8px.png'));
    await sharp({ create: { width: 16, height: 12, channels: 3, background: '#858080' } })
      .jpeg()
      .toFile(path.join(bad, 'icon-16px.jpg'));
    fs.writeFileSync(path.join(bad, 'bomb.png'), bombPng(30_000, 30_000));
    const locked = path.join(bad, 'locked.jpg');
    fs.copyFileSync(originals[2], locked);
    fs.chmodSync(locked, 0o000);
    fs.symlinkSync('..', path.join(bad, 'loop'));
    fs.writeFileSync(
      Buffer.concat([Buffer.from(bad + '/latin1-caf'), Buffer.from([0xe9]), Buffer.from('.jpg')]),
      fs.readFileSync(originals[3]),
    );
    if (FORMATS) {
      for (const f of [
        'jpeg-cmyk-swop-profile.jpg',
        'png-16bit-rgb-flag.png',
        'gif-animated-loop-3.gif',
        'iphone7-display-p3.heic',
      ]) {
        fs.copyFileSync(path.join(FORMATS, f), path.join(bad, f));
      }
    }
    before = fingerprint(lib);
    scan = doppel(['scan', lib, '--db', db, '--json']);
  });

  afterAll(() => {
    if (tmp) {
      fs.chmodSync(path.join(lib, 'bad', 'locked.jpg'), 0o644);
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('completes with exit 0 and a JSON summary on stdout', () => {
    expect(scan.stderr).not.toMatch(/at .*\.js:\d+/); // no stack traces
    expect(scan.code).toBe(0);
    const summary = JSON.parse(scan.stdout);
    expect(summary.provider).toBe('cpu');
    expect(summary.photos).toBeGreaterThan(30);
    expect(summary.groups.exact).toBeGreaterThanOrEqual(6);
  });

  it('changes nothing in the scanned folders', () => {
    expect(fingerprint(lib)).toEqual(before);
  });

  it('groups byte-identical copies as exact', () => {
    const { groups } = JSON.parse(
      doppel(['groups', '--db', db, '--kind', 'exact', '--json']).stdout,
    );
    for (const original of originals) {
      const group = groups.find((g: { photos: { path: string }[] }) =>
        g.photos.some((p) => p.path === original),
      );
      expect(group, original).toBeDefined();
      expect(group.photos.map((p: { path: string }) => p.path)).toContain(
        path.join(lib, 'copies', `exact-${path.basename(original)}`),
      );
      expect(group.photos.every((p: { distance: number }) => p.distance === 0)).toBe(true);
    }
  });

  it('puts resized, re-encoded and EXIF-rotated copies with their original, and never mixes families', () => {
    const out = doppel(['groups', '--db', db, '--json']);
    expect(out.code).toBe(0);
    const { groups } = JSON.parse(out.stdout) as {
      groups: { kind: string; photos: { path: string; distance: number }[] }[];
    };
    for (const g of groups) {
      expect(['exact', 'near-duplicate', 'similar']).toContain(g.kind);
      expect(g.photos[0].distance).toBe(0);
    }
    const familyOf = new Map<string, string>();
    for (const [orig, members] of families) for (const m of members) familyOf.set(m, orig);
    for (const [orig, members] of families) {
      const near = groups.filter(
        (g) => g.kind !== 'exact' && g.photos.some((p) => p.path === orig),
      );
      const together = new Set(near.flatMap((g) => g.photos.map((p) => p.path)));
      for (const m of members.slice(2)) expect(together.has(m), `${m} with ${orig}`).toBe(true);
    }
    for (const g of groups) {
      const owners = new Set(g.photos.map((p) => familyOf.get(p.path)).filter(Boolean));
      expect(owners.size, JSON.stringify(g)).toBeLessThanOrEqual(1);
    }
  });

  it('groups images under 32 px only by their bytes, never by content', () => {
    const out = doppel(['groups', '--db', db, '--json']);
    const { groups } = JSON.parse(out.stdout) as {
      groups: { kind: string; photos: { path: string }[] }[];
    };
    const tiny = ['one-pixel.png', 'badge-8px.png', 'icon-16px.jpg'];
    const withTiny = groups.filter(
      (g) => g.kind !== 'exact' && g.photos.some((p) => tiny.includes(path.basename(p.path))),
    );
    expect(withTiny).toEqual([]);
  });

  it('lists every bad input in problems with a readable reason', () => {
    const out = doppel(['problems', '--db', db, '--json']);
    expect(out.code).toBe(0);
    const { problems } = JSON.parse(out.stdout) as {
      problems: { path: string; code: string; reason: string }[];
    };
    const codeOf = (name: string): string | undefined =>
      problems.find((p) => path.basename(p.path).startsWith(name))?.code;
    expect(codeOf('empty.jpg')).toBe('EMPTY_FILE');
    expect(codeOf('truncated.jpg')).toBe('TRUNCATED');
    expect(codeOf('corrupt-header.jpg')).toMatch(/CORRUPT_HEADER|TRUNCATED/);
    expect(codeOf('text-named.jpg')).toBe('UNKNOWN_FORMAT');
    expect(codeOf('notes.txt')).toBeUndefined(); // not an image, not named like one: ignored
    expect(codeOf('bomb.png')).toBe('DECOMPRESSION_BOMB');
    expect(codeOf('loop')).toBe('SYMLINK_LOOP');
    if (process.getuid?.() !== 0) expect(codeOf('locked.jpg')).toBe('UNREADABLE');
    for (const p of problems) expect(p.reason.length).toBeGreaterThan(10);
    for (const ok of ['really-a-jpeg.HEIC', 'one-pixel.png', 'latin1-caf'])
      expect(codeOf(ok), ok).toBeUndefined();
    if (FORMATS) {
      for (const ok of [
        'jpeg-cmyk-swop-profile.jpg',
        'png-16bit-rgb-flag.png',
        'gif-animated-loop-3.gif',
        'iphone7-display-p3.heic',
      ]) {
        expect(codeOf(ok), ok).toBeUndefined();
      }
    }
  });

  it('prints k neighbours per photo as JSON, nearest first', () => {
    const out = doppel(['neighbors', '--db', db, '--k', '3', '--json']);
    expect(out.code).toBe(0);
    const list = JSON.parse(out.stdout) as {
      path: string;
      neighbors: { path: string; distance: number }[];
    }[];
    expect(list.length).toBeGreaterThan(30);
    for (const entry of list) {
      expect(entry.neighbors).toHaveLength(3);
      const d = entry.neighbors.map((n) => n.distance);
      expect([...d].sort((a, b) => a - b)).toEqual(d);
      expect(entry.neighbors.some((n) => n.path === entry.path)).toBe(false);
    }
  });

  it('rescans an unchanged library without reading any file again', () => {
    const out = doppel(['scan', lib, '--db', db, '--json']);
    expect(out.code).toBe(0);
    const summary = JSON.parse(out.stdout);
    expect(summary.embedded).toBe(0);
    expect(summary.unchanged).toBe(summary.photos);
  });

  it('splits a pair marked "not a duplicate" at once, without a rescan', () => {
    const together = (a: string, b: string): boolean => {
      const { groups } = JSON.parse(doppel(['groups', '--db', db, '--json']).stdout) as {
        groups: { kind: string; photos: { path: string }[] }[];
      };
      return groups.some(
        (g) =>
          g.kind !== 'exact' &&
          g.photos.some((p) => p.path === a) &&
          g.photos.some((p) => p.path === b),
      );
    };
    const [original, members] = [...families][0];
    const resized = members.find((m) => /resized/.test(m))!;
    expect(together(original, resized)).toBe(true);
    const marked = doppel(['label', '--db', db, '--not-duplicate', original, resized]);
    expect(marked.code, marked.stderr).toBe(0);
    expect(together(original, resized)).toBe(false);
  });

  it('refuses a folder that does not exist with one clear line and a non-zero exit', () => {
    const out = doppel(['scan', path.join(tmp, 'nope'), '--db', db]);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(
      /^doppel: Folder not found: .*nope \(check the path and try again\)\n$/,
    );
    expect(out.stdout).toBe('');
  });

  it('refuses an unknown provider, listing the accepted ones', () => {
    const out = doppel(['scan', lib, '--db', db, '--provider', 'tpu']);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toMatch(/auto, cpu, cuda, dml/);
  });
});

/** A valid PNG signature and IHDR claiming width x height, with almost no data behind it. */
function bombPng(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer): number => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const idat = chunk('IDAT', zlib.deflateSync(Buffer.alloc(1024)));
  return Buffer.concat([sig, chunk('IHDR', ihdr), idat, chunk('IEND', Buffer.alloc(0))]);
}
