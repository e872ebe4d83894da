import { describe, expect, it } from 'vitest';
import {
  decideKeep,
  isScreenshotName,
  parseKeepOrder,
  type KeepCandidate,
} from '../../src-main/core/keep-rule';

/** A plain JPEG copy; each test changes only what it is about. */
function copy(path: string, over: Partial<KeepCandidate> = {}): KeepCandidate {
  return {
    path,
    width: 4032,
    height: 3024,
    size: 2_000_000,
    format: 'jpeg',
    exifFields: 40,
    takenAt: '2020-06-01T10:00:00',
    ...over,
  };
}

function kept(decisions: ReturnType<typeof decideKeep>): string[] {
  return decisions.filter((d) => d.keep).map((d) => d.path);
}

describe('decideKeep', () => {
  it('prefers the copy that carries its RAW and edits over a lone copy of the same size', () => {
    const decisions = decideKeep(
      [
        copy('/p/lone.jpg', { size: 2_500_000 }),
        copy('/p/IMG_1.JPG', { companionBytes: 25_000_000 }),
      ],
      { kind: 'near-duplicate' },
    );
    expect(kept(decisions)).toEqual(['/p/IMG_1.JPG']);
    expect(decisions[0].reason).toMatch(/^keep: carries the most companion data/);
    expect(decisions[1].reason).toMatch(/fewer companion files/);
  });

  it('keeps the highest resolution and says so, with the loser measured against it', () => {
    const decisions = decideKeep(
      [copy('/p/small.jpg', { width: 1024, height: 768 }), copy('/p/big.jpg')],
      { kind: 'near-duplicate' },
    );
    expect(decisions).toEqual([
      { path: '/p/big.jpg', keep: true, rank: 0, reason: 'keep: highest resolution 4032x3024' },
      {
        path: '/p/small.jpg',
        keep: false,
        rank: 1,
        reason: 'trash: same picture as /p/big.jpg, lower resolution (1024x768 vs 4032x3024)',
      },
    ]);
  });

  it('falls to file size when resolutions tie', () => {
    const [best, other] = decideKeep([copy('/a.jpg', { size: 900_000 }), copy('/b.jpg')]);
    expect(best.path).toBe('/b.jpg');
    expect(best.reason).toBe('keep: largest file (1.9 MB)');
    expect(other.reason).toContain('smaller file (878.9 KB vs 1.9 MB)');
  });

  it('shows sizes in bytes when they round alike', () => {
    const [, other] = decideKeep([
      copy('/a.jpg', { size: 2_000_000 }),
      copy('/b.jpg', { size: 2_000_010 }),
    ]);
    expect(other.reason).toContain('smaller file (2000000 vs 2000010 bytes)');
  });

  it('prefers RAW > HEIC > JPEG > WebP/AVIF > PNG > other formats > PNG screenshots', () => {
    const same = { size: 1000 };
    const candidates = [
      copy('/x/Screenshot 2020-01-01.png', { ...same, format: 'png' }),
      copy('/x/d.gif', { ...same, format: 'gif' }),
      copy('/x/c.png', { ...same, format: 'png' }),
      copy('/x/b.webp', { ...same, format: 'webp' }),
      copy('/x/a.jpg', { ...same, format: 'jpeg' }),
      copy('/x/h.heic', { ...same, format: 'heic' }),
      copy('/x/r.cr2', { ...same, format: 'raw' }),
    ];
    const order = decideKeep(candidates).map((d) => d.path);
    expect(order).toEqual([
      '/x/r.cr2',
      '/x/h.heic',
      '/x/a.jpg',
      '/x/b.webp',
      '/x/c.png',
      '/x/d.gif',
      '/x/Screenshot 2020-01-01.png',
    ]);
    const reasons = decideKeep(candidates).map((d) => d.reason);
    expect(reasons[0]).toBe('keep: preferred format (RAW)');
    expect(reasons[6]).toContain('less preferred format (PNG screenshot vs RAW)');
  });

  it('ranks WebP and AVIF alike', () => {
    const [a, b] = decideKeep(
      [copy('/b.avif', { format: 'avif' }), copy('/a.webp', { format: 'webp' })],
      {
        order: ['format'],
      },
    );
    expect(a.reason).toBe('keep: equal on every criterion; first by path');
    expect(b.reason).toBe(
      'trash: same picture as /a.webp, equal on every criterion; later by path',
    );
  });

  it('keeps the copy with more metadata when pixels, size and format tie', () => {
    const [best, other] = decideKeep([copy('/stripped.jpg', { exifFields: 0 }), copy('/full.jpg')]);
    expect(best.path).toBe('/full.jpg');
    expect(best.reason).toBe('keep: most complete metadata (40 EXIF fields)');
    expect(other.reason).toContain('less metadata (0 vs 40 EXIF fields)');
  });

  it('uses sharpness only when every copy has it', () => {
    const withAll = decideKeep([
      copy('/blur.jpg', { sharpness: 0.2 }),
      copy('/sharp.jpg', { sharpness: 0.9 }),
    ]);
    expect(withAll[0].path).toBe('/sharp.jpg');
    expect(withAll[0].reason).toBe('keep: sharpest (0.900)');
    const oneMissing = decideKeep([
      copy('/blur.jpg', { sharpness: 0.2, takenAt: '2019-01-01T00:00:00' }),
      copy('/unknown.jpg'),
    ]);
    expect(oneMissing[0].path).toBe('/blur.jpg');
    expect(oneMissing[0].reason).toBe('keep: oldest capture date (2019-01-01)');
  });

  it('keeps the oldest capture date, reads EXIF-style dates, and puts undated copies last', () => {
    const decisions = decideKeep([
      copy('/none.jpg', { takenAt: null }),
      copy('/later.jpg', { takenAt: '2021:03:04 05:06:07' }),
      copy('/first.jpg', { takenAt: '2018:12:31 23:59:59' }),
    ]);
    expect(decisions.map((d) => d.path)).toEqual(['/first.jpg', '/later.jpg', '/none.jpg']);
    expect(decisions[1].reason).toContain('captured later (2021-03-04 vs 2018-12-31)');
    expect(decisions[2].reason).toContain('captured later (no capture date vs 2018-12-31)');
  });

  it('follows a reordered criteria list', () => {
    const candidates = [
      copy('/big.jpg'),
      copy('/small.heic', { format: 'heic', width: 800, height: 600 }),
    ];
    expect(decideKeep(candidates)[0].path).toBe('/big.jpg');
    const parsed = parseKeepOrder('format,resolution');
    expect(parsed.ok).toBe(true);
    const reordered = decideKeep(candidates, { order: parsed.ok ? parsed.order : [] });
    expect(reordered[0]).toMatchObject({
      path: '/small.heic',
      reason: 'keep: preferred format (HEIC)',
    });
    expect(reordered[1].reason).toContain('less preferred format (JPEG vs HEIC)');
  });

  it('keeps a copy in a protected folder even when it ranks lower, and the best copy too', () => {
    const decisions = decideKeep([
      copy('/safe/low.jpg', { width: 640, height: 480, mustKeep: 'inside protected folder /safe' }),
      copy('/inbox/best.jpg'),
      copy('/inbox/mid.jpg', { width: 2000, height: 1500 }),
    ]);
    expect(kept(decisions)).toEqual(['/inbox/best.jpg', '/safe/low.jpg']);
    expect(decisions.find((d) => d.path === '/safe/low.jpg')!.reason).toBe(
      'keep: inside protected folder /safe',
    );
    expect(decisions.find((d) => d.path === '/inbox/mid.jpg')!.keep).toBe(false);
  });

  it('names the protected folder when the best copy is the protected one', () => {
    const decisions = decideKeep([
      copy('/inbox/a.jpg', { size: 10 }),
      copy('/safe/a.jpg', { mustKeep: 'inside protected folder /safe' }),
    ]);
    expect(decisions[0].reason).toBe(
      'keep: inside protected folder /safe, and largest file (1.9 MB)',
    );
    expect(decisions[1].reason).toMatch(
      /^trash: same picture as \/safe\/a\.jpg \(kept: inside protected folder \/safe\), smaller file/,
    );
  });

  it('breaks full ties by copy-like names, then the older file, then the path', () => {
    const names = decideKeep([copy('/a/IMG_1 (1).jpg'), copy('/a/IMG_1.jpg')]);
    expect(names[0].path).toBe('/a/IMG_1.jpg');
    expect(names[0].reason).toBe(
      'keep: equal on every criterion; the other name looks like a copy',
    );
    expect(names[1].reason).toContain('equal otherwise; its name looks like a copy');
    expect(decideKeep([copy('/a/x copy.jpg'), copy('/a/x.jpg')])[0].path).toBe('/a/x.jpg');
    expect(decideKeep([copy('/a/Copy of x.jpg'), copy('/z/x.jpg')])[0].path).toBe('/z/x.jpg');

    const dates = decideKeep([
      copy('/a/new.jpg', { mtimeMs: Date.UTC(2022, 0, 1) }),
      copy('/b/old.jpg', { mtimeMs: Date.UTC(2015, 0, 1) }),
    ]);
    expect(dates[0].path).toBe('/b/old.jpg');
    expect(dates[0].reason).toBe(
      'keep: equal on every criterion; oldest file (modified 2015-01-01)',
    );
    expect(dates[1].reason).toContain('newer file (modified 2022-01-01)');
  });

  it('words the relation by group kind and by identical bytes', () => {
    const pair = [copy('/a.jpg'), copy('/b.jpg', { width: 10, height: 10 })];
    expect(decideKeep(pair, { kind: 'similar' })[1].reason).toMatch(/^trash: similar to \/a\.jpg,/);
    expect(decideKeep(pair, { kind: 'exact' })[1].reason).toMatch(
      /^trash: identical copy of \/a\.jpg,/,
    );
    const sameBytes = [
      copy('/a.jpg', { contentHash: 'h1' }),
      copy('/b (1).jpg', { contentHash: 'h1' }),
    ];
    expect(decideKeep(sameBytes, { kind: 'near-duplicate' })[1].reason).toMatch(
      /^trash: identical copy of/,
    );
  });

  it('gives the same ranking whatever the input order', () => {
    const base = [
      copy('/1.jpg', { size: 5 }),
      copy('/2.heic', { format: 'heic', size: 5 }),
      copy('/3.jpg', { width: 100, height: 100 }),
      copy('/4.jpg', { size: 5, exifFields: 3 }),
      copy('/5.jpg', { size: 5, takenAt: null }),
    ];
    const expected = decideKeep(base).map((d) => d.path);
    let seed = 7;
    for (let round = 0; round < 20; round++) {
      const shuffled = [...base];
      for (let i = shuffled.length - 1; i > 0; i--) {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        const j = seed % (i + 1);
        [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
      }
      expect(decideKeep(shuffled).map((d) => d.path)).toEqual(expected);
    }
  });

  it('keeps a lone copy and returns nothing for an empty group', () => {
    expect(decideKeep([copy('/only.jpg')])).toEqual([
      { path: '/only.jpg', keep: true, rank: 0, reason: 'keep: only copy' },
    ]);
    expect(decideKeep([])).toEqual([]);
  });

  it('treats unknown dimensions as the lowest resolution', () => {
    const [best, other] = decideKeep([
      copy('/nodims.jpg', { width: null, height: null }),
      copy('/tiny.jpg', { width: 2, height: 2 }),
    ]);
    expect(best.path).toBe('/tiny.jpg');
    expect(other.reason).toContain('lower resolution (unknown size vs 2x2)');
  });
});

describe('parseKeepOrder', () => {
  it('completes a partial order with the defaults', () => {
    expect(parseKeepOrder(' Date , size')).toEqual({
      ok: true,
      order: ['date', 'size', 'resolution', 'bundle', 'format', 'exif', 'sharpness'],
    });
  });

  it('names an unknown or repeated criterion and lists the accepted ones', () => {
    const accepted = 'resolution, bundle, size, format, exif, sharpness, date';
    expect(parseKeepOrder('size,colour')).toEqual({ ok: false, given: 'colour', accepted });
    expect(parseKeepOrder('size,size')).toEqual({ ok: false, given: 'size', accepted });
    expect(parseKeepOrder(' , ')).toEqual({ ok: false, given: ' , ', accepted });
  });
});

describe('isScreenshotName', () => {
  it('recognises screenshot names in several languages and ignores other names', () => {
    expect(isScreenshotName('/h/Screenshot_20200101-101010.png')).toBe(true);
    expect(isScreenshotName('/h/Screen Shot 2019-05-01 at 10.00.00.png')).toBe(true);
    expect(isScreenshotName('/h/Bildschirmfoto 2020-01-01 um 10.00.00.png')).toBe(true);
    expect(isScreenshotName("C:\\Users\\a\\Capture d'écran 2020.png")).toBe(true);
    expect(isScreenshotName('/h/screenshots-of-nothing/IMG_0001.png')).toBe(false);
    expect(isScreenshotName('/h/holiday.png')).toBe(false);
  });
});
