/**
 * The keep rule on real metadata: records built from the sample photos of ../shared/samples/formats
 * (dimensions from sharp, or a RAW file's sensor size from its EXIF; fields and dates from exifr).
 */
import fs from 'node:fs';
import path from 'node:path';
import exifr from 'exifr';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decideKeep, type KeepCandidate } from '../../src-main/core/keep-rule';
import { sharedPath } from '../helpers/shared-data';

const SAMPLES = sharedPath('samples', 'formats');
if (!SAMPLES) console.warn('keep-rule-samples: ../shared/samples/formats is absent; skipping.');

async function candidate(name: string, format: string): Promise<KeepCandidate> {
  const file = path.join(SAMPLES!, name);
  const exif = ((await exifr.parse(file, {
    tiff: true,
    exif: true,
    gps: true,
    mergeOutput: true,
    translateValues: false,
  })) ?? {}) as Record<string, unknown>;
  const meta = await sharp(file).metadata();
  const sensor = format === 'raw' && typeof exif.ExifImageWidth === 'number';
  const taken = exif.DateTimeOriginal instanceof Date ? exif.DateTimeOriginal.toISOString() : null;
  return {
    path: file,
    width: sensor ? (exif.ExifImageWidth as number) : (meta.width ?? null),
    height: sensor ? (exif.ExifImageHeight as number) : (meta.height ?? null),
    size: fs.statSync(file).size,
    format,
    exifFields: Object.keys(exif).length,
    takenAt: taken,
  };
}

describe.skipIf(!SAMPLES)('keep rule on sample photos', () => {
  it('keeps the CMYK JPEG with its profile and EXIF over the stripped copy of the same picture', async () => {
    const full = await candidate('jpeg-cmyk-swop-profile.jpg', 'jpeg');
    const stripped = await candidate('jpeg-cmyk-no-profile.jpg', 'jpeg');
    expect([full.width, full.height, stripped.width, stripped.height]).toEqual([
      500, 333, 500, 333,
    ]);
    expect(stripped.exifFields).toBe(0);

    const bySize = decideKeep([stripped, full], { kind: 'near-duplicate' });
    expect(bySize[0].path).toBe(full.path);
    expect(bySize[0].reason).toBe('keep: largest file (714.5 KB)');
    expect(bySize[1].reason).toBe(
      `trash: same picture as ${full.path}, smaller file (135.1 KB vs 714.5 KB)`,
    );

    const byExif = decideKeep([stripped, full], { order: ['exif'] });
    expect(byExif[0].reason).toBe(`keep: most complete metadata (${full.exifFields} EXIF fields)`);
    expect(full.exifFields).toBeGreaterThan(30);
  });

  it("judges a RAW file by its sensor size, not its preview's", async () => {
    const raw = await candidate('raw/exiftool-stub-CanonRaw.cr2', 'raw');
    const jpeg = await candidate('jpeg-progressive-canon-30d.jpg', 'jpeg');
    expect([raw.width, raw.height]).toEqual([3456, 2304]);
    const [best, other] = decideKeep([jpeg, raw]);
    expect(best).toMatchObject({ path: raw.path, reason: 'keep: highest resolution 3456x2304' });
    expect(other.reason).toBe(
      `trash: same picture as ${raw.path}, lower resolution (${jpeg.width}x${jpeg.height} vs 3456x2304)`,
    );
  });

  it('prefers the iPhone HEIC by resolution, and the older Canon JPEG when dates come first', async () => {
    const heic = await candidate('iphone7-display-p3.heic', 'heic');
    const canon = await candidate('jpeg-cmyk-swop-profile.jpg', 'jpeg');
    expect([heic.width, heic.height]).toEqual([4032, 3024]);
    expect(decideKeep([canon, heic])[0].reason).toBe('keep: highest resolution 4032x3024');
    const byDate = decideKeep([heic, canon], { order: ['date'] });
    expect(byDate[0].path).toBe(canon.path);
    expect(byDate[0].reason).toBe('keep: oldest capture date (2004-03-20)');
    expect(byDate[1].reason).toContain('captured later (2019-10-20 vs 2004-03-20)');
  });
});
