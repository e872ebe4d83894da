/**
 * The decoder over every real file in ../shared/samples/formats, against the expected output its
 * README gives (display sizes after orientation, colour handling, RAW stubs). Skips when the
 * shared folder is absent.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as exifr from 'exifr';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { PROBLEM_CATALOG } from '../../src-main/contract/errors';
import { decodePhoto, type DecodeResult } from '../../src-main/engine/decode/decode';
import { hasTool, meanAbsDiff } from '../helpers/decode-fixtures';
import { sharedPath } from '../helpers/shared-data';

const SAMPLES = sharedPath('samples', 'formats');
if (!SAMPLES)
  console.warn('SKIP decode-samples: ../shared/samples/formats is absent on this machine');

/** Display size (after EXIF/HEIF orientation) and detected format, from the samples' README. */
const EXPECTED: Record<string, [number, number, string]> = {
  'iphone7-display-p3.heic': [4032, 3024, 'heic'],
  'heif-collection-multi-image.heic': [1440, 960, 'heic'],
  'libheif-example.heic': [1280, 854, 'heic'],
  'heic-rainbow-odd-size-451x461.heic': [451, 461, 'heic'],
  'heic-with-alpha-512x512.heic': [512, 512, 'heic'],
  'libheif-example.avif': [800, 533, 'avif'],
  'irvine-ca.avif': [480, 640, 'avif'],
  'avif-irot1-imir0.avif': [640, 427, 'avif'],
  'avif-animated-sequence-star.avifs': [159, 159, 'avif'],
  'webp-lossy-1024x772.webp': [1024, 772, 'webp'],
  'webp-lossy-alpha-300x300.webp': [300, 300, 'webp'],
  'webp-animated-lossless-vp8l.webp': [245, 245, 'webp'],
  'webp-animated-lossy.webp': [370, 285, 'webp'],
  'gif-animated-loop-3.gif': [370, 285, 'gif'],
  'gif-animated-rotating-squares.gif': [80, 80, 'gif'],
  'gif-still-photo-crash-test.gif': [800, 533, 'gif'],
  'jpeg-cmyk-swop-profile.jpg': [500, 333, 'jpeg'],
  'jpeg-cmyk-no-profile.jpg': [500, 333, 'jpeg'],
  'jpeg-adobe-rgb-1998-icc.jpg': [300, 379, 'jpeg'],
  'jpeg-progressive-canon-30d.jpg': [600, 900, 'jpeg'],
  'jpeg-ultrahdr-gain-map.jpg': [3840, 2160, 'jpeg'],
  'jpeg-greyscale-gray-gamma-icc.jpg': [400, 267, 'jpeg'],
  'png-16bit-rgba-pngsuite.png': [32, 32, 'png'],
  'png-16bit-rgb-flag.png': [900, 600, 'png'],
  'png-16bit-grey-alpha.png': [109, 96, 'png'],
  'png-8bit-grey-alpha.png': [400, 300, 'png'],
  'png-palette-swiss.png': [68, 68, 'png'],
  'png-8bit-rgba.png': [256, 192, 'png'],
  'png-palette-2bit-trns.png': [900, 600, 'png'],
  'png-display-p3-icc.png': [8, 8, 'png'],
  'png-with-exif-gps.png': [1, 1, 'png'],
  'tiff-16bit-rgb-photoshop.tiff': [317, 211, 'tiff'],
  'tiff-16bit-grey-cropped.tif': [64, 64, 'tiff'],
  'tiff-multipage-g3-fax.tif': [2464, 3248, 'tiff'],
  'tiff-multipage-3-frames.tiff': [10, 10, 'tiff'],
  'tiff-photo-bush-dog.tif': [40, 40, 'tiff'],
  'bmp-24bit-hopper.bmp': [128, 128, 'bmp'],
  'bmp-32bit-rgb32.bmp': [127, 64, 'bmp'],
  'bmp-exiftool-tiny.bmp': [8, 8, 'bmp'],
  'raw/exiftool-stub-FujiFilm.raf': [4256, 1424, 'raw'],
};
for (let n = 1; n <= 8; n++) {
  EXPECTED[`orientation/landscape-orientation-${n}.jpg`] = [600, 450, 'jpeg'];
  EXPECTED[`orientation/portrait-orientation-${n}.jpg`] = [450, 600, 'jpeg'];
}

/** RAW stubs without a usable preview: the camera the problem detail must name. */
const NO_PREVIEW: Record<string, string> = {
  'raw/exiftool-stub-CanonRaw.cr2': 'CR2 from Canon EOS 350D DIGITAL',
  'raw/exiftool-stub-CanonRaw.cr3': 'CR3 from Canon EOS M50',
  'raw/exiftool-stub-CanonRaw.crw': 'CRW',
  'raw/exiftool-stub-Nikon.nef': 'NEF from NIKON D70',
  'raw/exiftool-stub-DNG.dng': 'DNG from Canon EOS 350D DIGITAL',
  'raw/exiftool-stub-Panasonic.rw2': 'RW2 from Panasonic DMC-LX3',
  'raw/exiftool-stub-Minolta.mrw': 'MRW from Konica Minolta',
  'raw/exiftool-stub-Sigma.x3f': 'X3F',
};

function listSamples(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const rel = entry.name;
    if (entry.isDirectory()) return listSamples(path.join(dir, rel)).map((f) => `${rel}/${f}`);
    return rel.endsWith('.md') ? [] : [rel];
  });
}

const read = (rel: string): Buffer => fs.readFileSync(path.join(SAMPLES as string, rel));

async function square(rel: string, size = 16): Promise<Buffer> {
  const result = await decodePhoto(read(rel), { size, trimBorders: false });
  if (!result.ok) throw new Error(`${rel}: ${result.code} ${result.detail}`);
  return result.rgb;
}

describe.skipIf(!SAMPLES)('decoding the real sample files', () => {
  const results = new Map<string, DecodeResult>();

  it('decodes every sample at its README display size, or gives the README reason', async () => {
    for (const rel of listSamples(SAMPLES as string)) {
      const result = await decodePhoto(read(rel), { size: 32, trimBorders: false });
      results.set(rel, result);
      if (rel in EXPECTED) {
        const [width, height, format] = EXPECTED[rel];
        expect(result, rel).toMatchObject({ ok: true, meta: { width, height, format } });
        if (result.ok) expect(result.rgb.length, rel).toBe(32 * 32 * 3);
      } else if (rel in NO_PREVIEW) {
        expect(result, rel).toMatchObject({ ok: false, code: 'RAW_NO_PREVIEW', format: 'raw' });
        if (!result.ok) expect(result.detail, rel).toContain(NO_PREVIEW[rel]);
      } else {
        // A sample added after this test was written: it must still end as a value.
        expect(result.ok || result.code in PROBLEM_CATALOG, rel).toBe(true);
      }
    }
  }, 60_000);

  it('reads the metadata the samples carry', async () => {
    // Decoded by the first test (4032x3024: the primary image, not the 320x240 thumbnail).
    const iphone = results.get('iphone7-display-p3.heic');
    expect(iphone).toMatchObject({
      ok: true,
      meta: {
        camera: 'Apple iPhone 7',
        takenAt: '2019-10-20T18:34:30.130+02:00',
        orientation: 1,
        hasExif: true,
      },
    });
    const png = await decodePhoto(read('png-with-exif-gps.png'), { size: 8, trimBorders: false });
    expect(png).toMatchObject({
      ok: true,
      meta: { camera: 'Canon PowerShot S40', takenAt: '2003-12-14T12:01:44.935' },
    });
    const raf = await decodePhoto(read('raw/exiftool-stub-FujiFilm.raf'), {
      size: 8,
      trimBorders: false,
    });
    expect(raf).toMatchObject({
      ok: true,
      meta: { camera: 'FUJIFILM FinePix S5Pro', format: 'raw' },
    });
    const cmyk = await decodePhoto(read('jpeg-cmyk-swop-profile.jpg'), {
      size: 8,
      trimBorders: false,
    });
    expect(cmyk.ok && cmyk.meta.exifFieldCount).toBeGreaterThan(20);
    const bare = await decodePhoto(read('jpeg-cmyk-no-profile.jpg'), {
      size: 8,
      trimBorders: false,
    });
    expect(bare).toMatchObject({
      ok: true,
      meta: { hasExif: false, exifFieldCount: 0, camera: null, takenAt: null },
    });
  });

  it('shows all eight EXIF orientations as the same upright picture', async () => {
    for (const kind of ['landscape', 'portrait']) {
      const upright = await square(`orientation/${kind}-orientation-1.jpg`);
      for (let n = 2; n <= 8; n++) {
        const diff = meanAbsDiff(upright, await square(`orientation/${kind}-orientation-${n}.jpg`));
        expect(diff, `${kind} ${n}`).toBeLessThan(6);
      }
    }
    // The check has teeth: the stored pixels of orientation 6, not turned, are far off.
    const stored = await sharp(read('orientation/landscape-orientation-6.jpg'))
      .resize(16, 16, { fit: 'fill' })
      .raw()
      .toBuffer();
    expect(
      meanAbsDiff(await square('orientation/landscape-orientation-1.jpg'), stored),
    ).toBeGreaterThan(30);
  });

  it('converts CMYK with and without a profile to close, non-inverted sRGB', async () => {
    const withProfile = await square('jpeg-cmyk-swop-profile.jpg');
    const withoutProfile = await square('jpeg-cmyk-no-profile.jpg');
    expect(meanAbsDiff(withProfile, withoutProfile)).toBeLessThan(12);
    // The camera's own EXIF thumbnail (YCbCr, so never CMYK) is an independent reference.
    const thumb = await exifr.thumbnail(read('jpeg-cmyk-swop-profile.jpg'));
    expect(thumb).toBeTruthy();
    const reference = await sharp(Buffer.from(thumb as Uint8Array))
      .resize(16, 16, { fit: 'fill' })
      .toColourspace('srgb')
      .raw()
      .toBuffer();
    expect(meanAbsDiff(withProfile, reference)).toBeLessThan(10);
    expect(meanAbsDiff(withoutProfile, reference)).toBeLessThan(14);
    const inverted = Buffer.from(withProfile.map((v) => 255 - v));
    expect(meanAbsDiff(inverted, reference)).toBeGreaterThan(30);
  });

  it('colour-manages ICC profiles (Display P3 PNG) instead of passing values through', async () => {
    const managed = await square('png-display-p3-icc.png', 8);
    const naive = await sharp(read('png-display-p3-icc.png'), { ignoreIcc: true })
      .resize(8, 8, { fit: 'fill' })
      .flatten({ background: '#ffffff' })
      .removeAlpha()
      .raw()
      .toBuffer();
    expect(meanAbsDiff(managed, naive)).toBeGreaterThan(1);
    // Pure P3 red lies outside sRGB: it lands on sRGB's most saturated red.
    expect([...managed.subarray(0, 3)]).toEqual([255, 0, 0]);
  });

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'doppel-decode-samples-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it.skipIf(!hasTool('convert'))(
    'gives 16-bit files the same pixels as their 8-bit conversion',
    async () => {
      for (const rel of [
        'png-16bit-rgb-flag.png',
        'png-16bit-grey-alpha.png',
        'tiff-16bit-rgb-photoshop.tiff',
        'tiff-16bit-grey-cropped.tif',
      ]) {
        const eight = path.join(tmp, `${path.basename(rel)}.8bit.png`);
        execFileSync('convert', [path.join(SAMPLES as string, rel), '-depth', '8', eight]);
        expect((await sharp(eight).metadata()).depth, rel).toBe('uchar');
        const reference = await decodePhoto(fs.readFileSync(eight), {
          size: 32,
          trimBorders: false,
        });
        expect(reference.ok, rel).toBe(true);
        if (reference.ok)
          expect(meanAbsDiff(await square(rel, 32), reference.rgb), rel).toBeLessThan(1);
      }
    },
  );

  it('flattens alpha on white the same way for HEIC, AVIF, PNG, WebP and GIF', async () => {
    const transparentCorner = [
      'heic-with-alpha-512x512.heic',
      'avif-animated-sequence-star.avifs',
      'webp-lossy-alpha-300x300.webp',
      'gif-animated-rotating-squares.gif',
      'png-8bit-grey-alpha.png',
      'png-16bit-rgba-pngsuite.png',
    ];
    for (const rel of transparentCorner) {
      const rgb = await square(rel);
      expect([rgb[0], rgb[1], rgb[2]], rel).toEqual([255, 255, 255]);
    }
    // Half-transparent pixels (a palette with tRNS at alpha 128) blend with white.
    const rgba = await sharp(read('png-palette-2bit-trns.png'))
      .ensureAlpha()
      .resize(16, 16, { fit: 'fill' })
      .raw()
      .toBuffer();
    const blended = Buffer.alloc(16 * 16 * 3);
    for (let i = 0; i < 16 * 16; i++) {
      const a = rgba[i * 4 + 3] / 255;
      for (let c = 0; c < 3; c++)
        blended[i * 3 + c] = Math.round(rgba[i * 4 + c] * a + 255 * (1 - a));
    }
    expect(meanAbsDiff(await square('png-palette-2bit-trns.png'), blended)).toBeLessThan(2);
  });

  it('takes the first frame of animations: GIF and WebP of the same animation agree', async () => {
    const gif = await square('gif-animated-loop-3.gif');
    const webp = await square('webp-animated-lossy.webp');
    expect(meanAbsDiff(gif, webp)).toBeLessThan(4);
  });
});
