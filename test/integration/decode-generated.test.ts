/**
 * The decoder on inputs generated at test time: bad files of every kind, RAW stand-ins with
 * embedded previews, HEIC files from heif-enc (with irot/imir added), BMP variants from
 * ImageMagick, Apple maker notes, border trimming, and the 12 MP decode time.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { decodePhoto, type DecodeResult } from '../../src-main/engine/decode/decode';
import {
  addHeifProperties,
  addHeifTransforms,
  buildAppleMakerNote,
  buildCr3,
  buildRaf,
  buildTiff,
  hasTool,
  meanAbsDiff,
  nclxBox,
  withExifSegment,
  type EntrySpec,
} from '../helpers/decode-fixtures';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'doppel-decode-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Writes `bytes` into the temp folder and reads them back, as the scanner would. */
function roundTrip(name: string, bytes: Buffer): Buffer {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, bytes);
  return fs.readFileSync(file);
}

const OPTS = { size: 32, trimBorders: false };

/** An asymmetric test picture: a gradient with a red block top-left and a blue bar right. */
function pattern(width: number, height: number): Buffer {
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const inBlock = x < width / 3 && y < height / 3;
      const inBar = x > (width * 4) / 5;
      px[i] = inBlock ? 230 : Math.round((x / width) * 120);
      px[i + 1] = inBlock ? 20 : Math.round((y / height) * 160) + 40;
      px[i + 2] = inBar ? 240 : 60;
    }
  }
  return px;
}

async function patternJpeg(width: number, height: number, orientation?: number): Promise<Buffer> {
  const img = sharp(pattern(width, height), { raw: { width, height, channels: 3 } }).jpeg({
    quality: 92,
  });
  return orientation ? img.withMetadata({ orientation }).toBuffer() : img.toBuffer();
}

async function patternPng(width: number, height: number): Promise<Buffer> {
  return sharp(pattern(width, height), { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

function expectOk(result: DecodeResult): Extract<DecodeResult, { ok: true }> {
  if (!result.ok) throw new Error(`expected a decode, got ${result.code}: ${result.detail}`);
  return result;
}

/** A PNG with a valid IHDR claiming width x height and a tiny IDAT, a few dozen bytes long. */
function pngHeader(width: number, height: number): Buffer {
  const chunk = (type: string, body: Buffer): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(body.length);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(Buffer.concat([head.subarray(4), body])) >>> 0);
    return Buffer.concat([head, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(Buffer.alloc(2000))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('bad input ends as one problem with a one-line reason', () => {
  const cases: [string, () => Promise<Buffer>, string][] = [
    ['zero-byte file', async () => Buffer.alloc(0), 'EMPTY_FILE'],
    ['truncated JPEG', async () => (await patternJpeg(800, 600)).subarray(0, 20_000), 'TRUNCATED'],
    [
      'JPEG cut just before its end',
      async () => {
        const j = await patternJpeg(800, 600);
        return j.subarray(0, j.length - 40);
      },
      'TRUNCATED',
    ],
    [
      'progressive JPEG cut short',
      async () => {
        const j = await sharp(pattern(800, 600), { raw: { width: 800, height: 600, channels: 3 } })
          .jpeg({ progressive: true })
          .toBuffer();
        return j.subarray(0, j.length >> 1);
      },
      'TRUNCATED',
    ],
    [
      'JPEG with a corrupt header',
      async () => {
        const j = await patternJpeg(64, 48);
        const broken = Buffer.from(j);
        broken.fill(0x41, 20, 200); // the JFIF segment ends at 20: no marker follows
        return broken;
      },
      'CORRUPT_HEADER',
    ],
    ['PNG with a zero width in IHDR', async () => pngHeader(0, 100), 'CORRUPT_HEADER'],
    ['truncated PNG', async () => (await patternPng(300, 200)).subarray(0, 400), 'TRUNCATED'],
    [
      'truncated GIF',
      async () => {
        const g = await sharp(pattern(300, 200), { raw: { width: 300, height: 200, channels: 3 } })
          .gif()
          .toBuffer();
        return g.subarray(0, g.length >> 1);
      },
      'TRUNCATED',
    ],
    [
      'truncated WebP',
      async () => {
        const w = await sharp(pattern(300, 200), { raw: { width: 300, height: 200, channels: 3 } })
          .webp()
          .toBuffer();
        return w.subarray(0, w.length >> 1);
      },
      'TRUNCATED',
    ],
    [
      'truncated TIFF',
      async () => {
        const t = await sharp(pattern(300, 200), { raw: { width: 300, height: 200, channels: 3 } })
          .tiff()
          .toBuffer();
        return t.subarray(0, t.length >> 1);
      },
      'TRUNCATED',
    ],
    [
      'truncated AVIF',
      async () => {
        const a = await sharp(pattern(64, 48), { raw: { width: 64, height: 48, channels: 3 } })
          .avif()
          .toBuffer();
        return a.subarray(0, a.length >> 1);
      },
      'TRUNCATED',
    ],
    [
      'unknown bytes',
      async () => Buffer.from('0123456789abcdef'.repeat(20), 'hex'),
      'UNKNOWN_FORMAT',
    ],
    ['a text file', async () => Buffer.from('just some notes\nnot a photo\n'), 'UNKNOWN_FORMAT'],
    [
      'a PNG header claiming 30,000 x 30,000 pixels',
      async () => pngHeader(30_000, 30_000),
      'DECOMPRESSION_BOMB',
    ],
    [
      'a PNG header claiming 40,000 x 40,000 pixels',
      async () => pngHeader(40_000, 40_000),
      'TOO_LARGE',
    ],
    ['a RAW without any preview', async () => rawStandIn({ preview: null }), 'RAW_NO_PREVIEW'],
    [
      'a RAW whose preview is a placeholder',
      async () => rawStandIn({ preview: await patternJpeg(8, 8) }),
      'RAW_NO_PREVIEW',
    ],
    [
      'a RAW whose preview is cut short',
      async () => rawStandIn({ preview: (await patternJpeg(640, 400)).subarray(0, 3000) }),
      'RAW_NO_PREVIEW',
    ],
  ];

  it.each(cases)('%s', async (name, make, code) => {
    const result = await decodePhoto(roundTrip(name.replace(/\W+/g, '-'), await make()), OPTS);
    expect(result.ok, JSON.stringify(result)).toBe(false);
    if (result.ok) return;
    expect(result.code, result.detail).toBe(code);
    expect(result.detail.length).toBeGreaterThan(5);
    expect(result.detail).not.toContain('\n');
  });

  it('turns randomly damaged files of every format into values, never exceptions', async () => {
    const make = (alpha: boolean) =>
      sharp(pattern(90, 60), { raw: { width: 90, height: 60, channels: 3 } }).ensureAlpha(
        alpha ? 0.5 : 1,
      );
    const originals = [
      await make(false).jpeg().toBuffer(),
      await make(false).jpeg({ progressive: true }).toBuffer(),
      await make(true).png().toBuffer(),
      await make(true).webp().toBuffer(),
      await make(true).gif().toBuffer(),
      await make(false).tiff().toBuffer(),
      await make(false).avif().toBuffer(),
      rawStandIn({ preview: await patternJpeg(200, 150) }),
    ];
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let round = 0; round < 6; round++) {
      for (const original of originals) {
        const damaged = Buffer.from(original);
        for (let k = 0; k < 1 + round * 4; k++) {
          damaged[Math.floor(random() * damaged.length)] = Math.floor(random() * 256);
        }
        const input =
          round % 2 ? damaged.subarray(0, Math.floor(random() * damaged.length)) : damaged;
        const result = await decodePhoto(input, { size: 16, trimBorders: round % 3 === 0 });
        if (result.ok) expect(result.rgb.length).toBe(16 * 16 * 3);
        else expect(result.detail).toMatch(/^[^\n]+$/);
      }
    }
  });

  it('explains what an unknown file seems to be', async () => {
    const pdf = await decodePhoto(Buffer.from('%PDF-1.7\n%...'), OPTS);
    expect(pdf).toMatchObject({
      ok: false,
      code: 'UNKNOWN_FORMAT',
      detail: 'the content is a PDF document',
    });
  });

  it('decodes a JPEG whose only flaw is a missing end marker', async () => {
    const j = await patternJpeg(800, 600);
    expectOk(await decodePhoto(j.subarray(0, j.length - 2), OPTS));
  });

  it('decodes a 1x1 image', async () => {
    const one = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#00ff00' } })
      .png()
      .toBuffer();
    const result = expectOk(await decodePhoto(roundTrip('one.png', one), OPTS));
    expect(result.meta).toMatchObject({ width: 1, height: 1, format: 'png' });
    expect([...result.rgb.subarray(0, 3)]).toEqual([0, 255, 0]);
  });

  it('reads a JPEG named .HEIC as the JPEG it is', async () => {
    const result = expectOk(
      await decodePhoto(roundTrip('IMG_0001.HEIC', await patternJpeg(120, 80)), OPTS),
    );
    expect(result.meta).toMatchObject({ format: 'jpeg', width: 120, height: 80 });
  });

  it.skipIf(!hasTool('heif-enc'))(
    'reports a cut-short HEIC, and one libheif cannot decode',
    async () => {
      const src = path.join(tmp, 'h.png');
      fs.writeFileSync(src, await patternPng(96, 64));
      const heic = path.join(tmp, 'h.heic');
      execFileSync('heif-enc', ['-q', '80', src, '-o', heic], { stdio: 'ignore' });
      const whole = fs.readFileSync(heic);
      expect(await decodePhoto(whole.subarray(0, whole.length - 200), OPTS)).toMatchObject({
        ok: false,
        code: 'TRUNCATED',
      });
      expect(await decodePhoto(whole.subarray(0, 120), OPTS)).toMatchObject({
        ok: false,
        code: 'TRUNCATED',
      });
      // Whole, but its primary item points at an item that does not exist.
      const dangling = Buffer.from(whole);
      const pitm = dangling.indexOf('pitm', 0, 'latin1');
      dangling.writeUInt16BE(999, pitm + 8);
      const failed = await decodePhoto(dangling, OPTS);
      expect(failed).toMatchObject({ ok: false, code: 'HEIC_DECODE_FAILED', format: 'heic' });
    },
  );
});

/** Options of a TIFF-based RAW stand-in. */
interface StandIn {
  preview: Buffer | null;
  orientation?: number;
  make?: string;
  model?: string;
  sensor?: [number, number];
}

/**
 * A NEF-shaped TIFF: IFD0 with the camera and orientation, a SubIFD holding the JPEG preview,
 * a SubIFD of CFA sensor data, and an EXIF directory with the capture time.
 */
function rawStandIn(opts: StandIn): Buffer {
  const [sensorW, sensorH] = opts.sensor ?? [6048, 4024];
  const previewIfd: EntrySpec[] = opts.preview
    ? [
        { tag: 0x00fe, long: [1] },
        { tag: 0x0103, short: [6] },
        { tag: 0x0201, blob: opts.preview },
        { tag: 0x0202, long: [opts.preview.length] },
      ]
    : [];
  const sensorIfd: EntrySpec[] = [
    { tag: 0x00fe, long: [0] },
    { tag: 0x0100, long: [sensorW] },
    { tag: 0x0101, long: [sensorH] },
    { tag: 0x0102, short: [14] },
    { tag: 0x0103, short: [34713] },
    { tag: 0x0106, short: [32803] },
    { tag: 0x0111, blob: Buffer.alloc(64, 0x5a) },
    { tag: 0x0117, long: [64] },
  ];
  const exif: EntrySpec[] = [
    { tag: 0x9003, ascii: '2021:06:01 10:00:00' },
    { tag: 0x9011, ascii: '+02:00' },
    { tag: 0x9291, ascii: '25' },
  ];
  return buildTiff({
    entries: [
      { tag: 0x00fe, long: [1] },
      { tag: 0x010f, ascii: opts.make ?? 'NIKON CORPORATION' },
      { tag: 0x0110, ascii: opts.model ?? 'NIKON Z 6_2' },
      { tag: 0x0112, short: [opts.orientation ?? 1] },
      {
        tag: 0x014a,
        ifds: previewIfd.length
          ? [{ entries: previewIfd }, { entries: sensorIfd }]
          : [{ entries: sensorIfd }],
      },
      { tag: 0x8769, ifds: [{ entries: exif }] },
    ],
  });
}

describe('RAW files through their embedded preview', () => {
  it('shows the preview, turned by the RAW orientation, with the sensor size and metadata', async () => {
    const preview = await patternJpeg(640, 400);
    for (const orientation of [1, 3, 6, 8]) {
      const result = expectOk(
        await decodePhoto(
          roundTrip(`o${orientation}.nef`, rawStandIn({ preview, orientation })),
          OPTS,
        ),
      );
      const turned = orientation >= 5;
      expect(result.meta).toMatchObject({
        format: 'raw',
        width: turned ? 4024 : 6048,
        height: turned ? 6048 : 4024,
        camera: 'NIKON Z 6_2',
        orientation,
        takenAt: '2021-06-01T10:00:00.25+02:00',
        hasExif: true,
      });
      // The same preview as a JPEG carrying that orientation is the reference.
      const reference = expectOk(await decodePhoto(await patternJpeg(640, 400, orientation), OPTS));
      expect(meanAbsDiff(result.rgb, reference.rgb), `orientation ${orientation}`).toBeLessThan(3);
    }
  });

  it('takes the largest preview when there are several', async () => {
    const small = await patternJpeg(160, 120);
    const large = await patternJpeg(1024, 640);
    const tiff = buildTiff({
      entries: [
        { tag: 0x010f, ascii: 'SONY' },
        { tag: 0x0110, ascii: 'ILCE-7M4' },
        { tag: 0x0201, blob: small },
        { tag: 0x0202, long: [small.length] },
        {
          tag: 0x8769,
          ifds: [
            {
              entries: [
                { tag: 0xa002, long: [7008] },
                { tag: 0xa003, long: [4672] },
              ],
            },
          ],
        },
        {
          tag: 0x014a,
          ifds: [
            {
              entries: [
                { tag: 0x0103, short: [7] },
                { tag: 0x0111, blob: large },
                { tag: 0x0117, long: [large.length] },
              ],
            },
          ],
        },
      ],
    });
    const result = expectOk(await decodePhoto(tiff, { size: 64, trimBorders: false }));
    expect(result.meta).toMatchObject({ width: 7008, height: 4672, camera: 'SONY ILCE-7M4' });
    const fromLarge = expectOk(await decodePhoto(large, { size: 64, trimBorders: false }));
    expect(meanAbsDiff(result.rgb, fromLarge.rgb)).toBeLessThan(0.5);
  });

  it('reads DNG (big-endian), ORF (preview only in a maker note) and RW2 (JpgFromRaw)', async () => {
    const preview = await patternJpeg(640, 400);
    const dng = buildTiff(
      {
        entries: [
          { tag: 0xc612, bytes: Buffer.from([1, 4, 0, 0]) },
          { tag: 0x010f, ascii: 'Canon' },
          { tag: 0x0110, ascii: 'Canon EOS R6' },
          {
            tag: 0x014a,
            ifds: [
              {
                entries: [
                  { tag: 0x0100, long: [5568] },
                  { tag: 0x0101, long: [3708] },
                  { tag: 0x0106, short: [32803] },
                  { tag: 0x0103, short: [7] },
                ],
              },
              {
                entries: [
                  { tag: 0x0103, short: [7] },
                  { tag: 0x0111, blob: preview },
                  { tag: 0x0117, long: [preview.length] },
                ],
              },
            ],
          },
        ],
      },
      { littleEndian: false },
    );
    expect(expectOk(await decodePhoto(dng, OPTS)).meta).toMatchObject({
      width: 5568,
      height: 3708,
      camera: 'Canon EOS R6',
    });

    const orf = buildTiff(
      {
        entries: [
          { tag: 0x0100, long: [5240] },
          { tag: 0x0101, long: [3912] },
          { tag: 0x010f, ascii: 'OM Digital Solutions' },
          { tag: 0x0110, ascii: 'OM-1' },
          {
            tag: 0x8769,
            ifds: [
              {
                entries: [
                  { tag: 0x927c, bytes: Buffer.concat([Buffer.from('OLYMPUS\0II'), preview]) },
                ],
              },
            ],
          },
        ],
      },
      { magic: 0x4f52 },
    );
    expect(expectOk(await decodePhoto(orf, OPTS)).meta).toMatchObject({
      width: 5240,
      height: 3912,
      camera: 'OM Digital Solutions OM-1',
    });

    const rw2 = buildTiff(
      {
        entries: [
          ...[3724, 2754, 6, 8, 2742, 3656].map((v, i) => ({ tag: 2 + i, short: [v] })),
          { tag: 0x002e, bytes: preview },
          { tag: 0x010f, ascii: 'Panasonic' },
          { tag: 0x0110, ascii: 'DC-G9' },
        ],
      },
      { magic: 0x55 },
    );
    expect(expectOk(await decodePhoto(rw2, OPTS)).meta).toMatchObject({
      width: 3648,
      height: 2736,
      camera: 'Panasonic DC-G9',
    });
  });

  it('reads RAF (header-pointed JPEG) and CR3 (PRVW box, CMT metadata)', async () => {
    const exifTiff = buildTiff({
      entries: [
        { tag: 0x010f, ascii: 'FUJIFILM' },
        { tag: 0x0110, ascii: 'X-T5' },
        { tag: 0x0112, short: [8] },
        { tag: 0x8769, ifds: [{ entries: [{ tag: 0x9003, ascii: '2024:02:03 04:05:06' }] }] },
      ],
    });
    const rafJpeg = withExifSegment(await patternJpeg(640, 400), exifTiff);
    const raf = expectOk(await decodePhoto(buildRaf(rafJpeg, 7752, 5178), OPTS));
    expect(raf.meta).toMatchObject({
      width: 5178,
      height: 7752,
      camera: 'FUJIFILM X-T5',
      orientation: 8,
      takenAt: '2024-02-03T04:05:06',
    });
    const turned = expectOk(await decodePhoto(await patternJpeg(640, 400, 8), OPTS));
    expect(meanAbsDiff(raf.rgb, turned.rgb)).toBeLessThan(3);

    const cmt1 = buildTiff({
      entries: [
        { tag: 0x0100, long: [8192] },
        { tag: 0x0101, long: [5464] },
        { tag: 0x010f, ascii: 'Canon' },
        { tag: 0x0110, ascii: 'Canon EOS R5' },
        { tag: 0x0112, short: [1] },
      ],
    });
    const cmt2 = buildTiff({
      entries: [
        { tag: 0x9003, ascii: '2023:07:08 09:10:11' },
        { tag: 0x829a, long: [1, 250] },
      ],
    });
    const cr3 = buildCr3(cmt1, cmt2, await patternJpeg(1620, 1080));
    const result = expectOk(await decodePhoto(cr3, OPTS));
    expect(result.meta).toMatchObject({
      format: 'raw',
      width: 8192,
      height: 5464,
      camera: 'Canon EOS R5',
      takenAt: '2023-07-08T09:10:11',
    });
  });
});

describe('metadata', () => {
  it('reads the Apple burst UUID and Live Photo content identifier from the maker note', async () => {
    const note = buildAppleMakerNote({
      0x000b: '9B2D4F6A-1C3E-4A5B-8D7F-0123456789AB',
      0x0011: 'E1F2A3B4-C5D6-4E7F-8091-A2B3C4D5E6F7',
    });
    const exif = buildTiff({
      entries: [
        { tag: 0x010f, ascii: 'Apple' },
        { tag: 0x0110, ascii: 'iPhone 15 Pro' },
        { tag: 0x0112, short: [1] },
        {
          tag: 0x8769,
          ifds: [
            {
              entries: [
                { tag: 0x9003, ascii: '2024:05:06 07:08:09' },
                { tag: 0x927c, bytes: note },
              ],
            },
          ],
        },
      ],
    });
    const jpeg = withExifSegment(await patternJpeg(64, 48), exif);
    const result = expectOk(await decodePhoto(jpeg, OPTS));
    expect(result.meta).toMatchObject({
      camera: 'Apple iPhone 15 Pro',
      burstId: '9B2D4F6A-1C3E-4A5B-8D7F-0123456789AB',
      contentId: 'E1F2A3B4-C5D6-4E7F-8091-A2B3C4D5E6F7',
      takenAt: '2024-05-06T07:08:09',
    });
    const plain = expectOk(await decodePhoto(await patternJpeg(64, 48), OPTS));
    expect(plain.meta).toMatchObject({ burstId: null, contentId: null, hasExif: false });
  });

  it("reads EXIF from WebP's EXIF chunk, which exifr itself does not open", async () => {
    const webp = await sharp(pattern(64, 48), { raw: { width: 64, height: 48, channels: 3 } })
      .webp()
      .withExif({ IFD0: { Make: 'Google', Model: 'Pixel 8' } })
      .toBuffer();
    expect(expectOk(await decodePhoto(webp, OPTS)).meta).toMatchObject({
      format: 'webp',
      camera: 'Google Pixel 8',
    });
  });
});

describe.skipIf(!hasTool('heif-enc'))('HEIC from heif-enc', () => {
  const encode = (name: string, png: Buffer, args: string[] = []): Buffer => {
    const src = path.join(tmp, `${name}.png`);
    const out = path.join(tmp, `${name}.heic`);
    fs.writeFileSync(src, png);
    execFileSync('heif-enc', ['-q', '95', ...args, src, '-o', out], { stdio: 'ignore' });
    return fs.readFileSync(out);
  };

  it('applies irot like libheif: 90, 180 and 270 degrees anticlockwise', async () => {
    const heic = encode('rot', await patternPng(96, 64));
    const upright = sharp(pattern(96, 64), { raw: { width: 96, height: 64, channels: 3 } });
    for (const [irot, clockwise] of [
      [1, 270],
      [2, 180],
      [3, 90],
    ]) {
      const result = expectOk(await decodePhoto(addHeifTransforms(heic, irot), OPTS));
      expect(result.meta, `irot ${irot}`).toMatchObject(
        irot === 2 ? { width: 96, height: 64 } : { width: 64, height: 96 },
      );
      const reference = await upright
        .clone()
        .rotate(clockwise)
        .resize(32, 32, { fit: 'fill' })
        .raw()
        .toBuffer();
      expect(meanAbsDiff(result.rgb, reference), `irot ${irot}`).toBeLessThan(5);
    }
  });

  it.skipIf(!hasTool('heif-convert'))(
    'applies imir the way libheif does (reference: heif-convert)',
    async () => {
      const heic = encode('mir', await patternPng(96, 64));
      for (const axis of [0, 1] as const) {
        const file = path.join(tmp, `mir${axis}.heic`);
        fs.writeFileSync(file, addHeifTransforms(heic, 1, axis));
        const png = path.join(tmp, `mir${axis}-ref.png`);
        execFileSync('heif-convert', [file, png], { stdio: 'ignore' });
        const reference = await sharp(png)
          .resize(32, 32, { fit: 'fill' })
          .removeAlpha()
          .raw()
          .toBuffer();
        const result = expectOk(await decodePhoto(fs.readFileSync(file), OPTS));
        expect(meanAbsDiff(result.rgb, reference), `imir ${axis}`).toBeLessThan(4);
      }
    },
  );

  it('converts an embedded Display P3 profile and P3 nclx primaries to sRGB', async () => {
    const vivid = await sharp(pattern(96, 64), { raw: { width: 96, height: 64, channels: 3 } })
      .withIccProfile('p3')
      .png()
      .toBuffer();
    const srgb = await sharp(vivid)
      .resize(32, 32, { fit: 'fill' })
      .toColourspace('srgb')
      .raw()
      .toBuffer();
    const withIcc = expectOk(await decodePhoto(encode('p3icc', vivid), OPTS));
    expect(meanAbsDiff(withIcc.rgb, srgb)).toBeLessThan(3);

    // heif-enc 1.15 writes no colr box for a profile-less PNG: add Display P3 nclx ourselves.
    const p3Values = await sharp(vivid, { ignoreIcc: true }).png().toBuffer();
    const asNclx = addHeifProperties(encode('p3nclx', p3Values), [nclxBox(12, 13, 6)]);
    const withNclx = expectOk(await decodePhoto(asNclx, OPTS));
    expect(meanAbsDiff(withNclx.rgb, srgb)).toBeLessThan(3);
    // Without colour management the P3 values themselves would come out.
    const raw = await sharp(p3Values).resize(32, 32, { fit: 'fill' }).raw().toBuffer();
    expect(meanAbsDiff(raw, srgb)).toBeGreaterThan(meanAbsDiff(withNclx.rgb, srgb) + 1);
  });

  it("reports HEIC's EXIF orientation but does not apply it over irot/imir (as libheif)", async () => {
    const jpeg = path.join(tmp, 'exif6.jpg');
    fs.writeFileSync(jpeg, await patternJpeg(96, 64, 6));
    const out = path.join(tmp, 'exif6.heic');
    execFileSync('heif-enc', ['-q', '95', jpeg, '-o', out], { stdio: 'ignore' });
    const result = expectOk(await decodePhoto(fs.readFileSync(out), OPTS));
    expect(result.meta).toMatchObject({ orientation: 6, width: 96, height: 64 });
    const stored = await sharp(pattern(96, 64), { raw: { width: 96, height: 64, channels: 3 } })
      .resize(32, 32, { fit: 'fill' })
      .raw()
      .toBuffer();
    expect(meanAbsDiff(result.rgb, stored)).toBeLessThan(5);
  });
});

describe.skipIf(!hasTool('convert'))('BMP variants written by ImageMagick', () => {
  const variants: [string, string[]][] = [
    ['24-bit', ['BMP3:']],
    ['8-bit palette', ['-colors', '200', '-type', 'Palette', '-compress', 'None', 'BMP3:']],
    ['8-bit RLE', ['-colors', '200', '-type', 'Palette', '-compress', 'RLE', 'BMP3:']],
    ['4-bit palette', ['-colors', '12', '-type', 'Palette', '-compress', 'None', 'BMP3:']],
    ['1-bit', ['-monochrome', 'BMP3:']],
    ['16-bit RGB565 bit fields', ['-define', 'bmp:subtype=RGB565', 'BMP:']],
    [
      '32-bit with alpha (v5 header)',
      ['-alpha', 'set', '-channel', 'A', '-fx', 'i/w', '+channel', 'BMP:'],
    ],
    ['OS/2 1.x core header', ['BMP2:']],
  ];

  it.each(variants)('%s decodes like ImageMagick reads it', async (name, args) => {
    const src = path.join(tmp, 'bmp-src.png');
    fs.writeFileSync(src, await patternPng(37, 23));
    const target = args[args.length - 1];
    const bmp = path.join(tmp, `${name.replace(/\W+/g, '-')}.bmp`);
    execFileSync('convert', [src, ...args.slice(0, -1), `${target}${bmp}`]);
    const png = `${bmp}.png`;
    execFileSync('convert', [bmp, `PNG32:${png}`]);
    const reference = expectOk(await decodePhoto(fs.readFileSync(png), OPTS));
    const result = expectOk(await decodePhoto(fs.readFileSync(bmp), OPTS));
    expect(result.meta).toMatchObject({ format: 'bmp', width: 37, height: 23 });
    expect(meanAbsDiff(result.rgb, reference.rgb)).toBeLessThan(0.5);
  });
});

describe('border trimming and speed', () => {
  it('trims uniform borders so a matted copy matches the original', async () => {
    const photo = await patternJpeg(600, 400);
    const matted = await sharp(photo)
      .extend({ top: 50, bottom: 50, left: 30, right: 30, background: '#101010' })
      .png()
      .toBuffer();
    const trim = { size: 32, trimBorders: true };
    const a = expectOk(await decodePhoto(photo, trim));
    const b = expectOk(await decodePhoto(matted, trim));
    const untrimmed = expectOk(await decodePhoto(matted, OPTS));
    expect(meanAbsDiff(a.rgb, b.rgb)).toBeLessThan(4);
    expect(meanAbsDiff(a.rgb, untrimmed.rgb)).toBeGreaterThan(10);
    // A picture that is all "border" is kept whole rather than cut to nothing.
    const flat = await sharp({
      create: { width: 200, height: 100, channels: 3, background: '#777777' },
    })
      .png()
      .toBuffer();
    expect([...expectOk(await decodePhoto(flat, trim)).rgb.subarray(0, 3)]).toEqual([
      119, 119, 119,
    ]);
  });

  it('decodes a 12 MP JPEG to 160 px through shrink-on-load', async () => {
    const seed = await sharp({
      create: {
        width: 500,
        height: 375,
        channels: 3,
        noise: { type: 'gaussian', mean: 128, sigma: 60 },
        background: '#808080',
      },
    })
      .png()
      .toBuffer();
    const twelve = roundTrip(
      '12mp.jpg',
      await sharp(seed).resize(4000, 3000).jpeg({ quality: 90 }).toBuffer(),
    );
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const start = process.hrtime.bigint();
      expectOk(await decodePhoto(twelve, { size: 160, trimBorders: false }));
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    times.sort((p, q) => p - q);
    console.info(
      `decode 4000x3000 JPEG (${twelve.length} bytes) to 160 px: median ${times[2].toFixed(1)} ms, best ${times[0].toFixed(1)} ms`,
    );
    expect(times[2]).toBeLessThan(2000);
  });
});
