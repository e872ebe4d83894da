import { describe, expect, it } from 'vitest';
import { decodeBmpPixels, readBmpHeader } from '../../src-main/engine/decode/bmp.decoder';
import { inspectContainer, isLosslessWebp } from '../../src-main/engine/decode/container.checker';
import { formatCamera, formatExifDate } from '../../src-main/engine/decode/exif.reader';
import { carveJpegs, inspectJpeg, scanJpeg } from '../../src-main/engine/decode/jpeg.scanner';
import {
  checkDeclaredSize,
  IN_MEMORY_MAX_PIXELS,
  MAX_PIXELS,
} from '../../src-main/engine/decode/limits';
import { orientSquare } from '../../src-main/engine/decode/pixels';
import { detectRawKind, sniffFormat } from '../../src-main/engine/decode/sniff';
import { box, buildTiff, type IfdSpec } from '../helpers/decode-fixtures';

const bytes = (...parts: (string | number[])[]): Buffer =>
  Buffer.concat(
    parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))),
  );

/** A structurally complete tiny JPEG: SOI, SOF0 (w x h), SOS, two entropy bytes, EOI. */
function tinyJpeg(width: number, height: number, sof = 0xc0): Buffer {
  const sofSeg = [
    0xff,
    sof,
    0,
    11,
    8,
    height >> 8,
    height & 255,
    width >> 8,
    width & 255,
    1,
    1,
    0x11,
    0,
  ];
  const sos = [0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0];
  return Buffer.from([0xff, 0xd8, ...sofSeg, ...sos, 0x12, 0xff, 0x00, 0x34, 0xff, 0xd9]);
}

function ftyp(major: string, ...brands: string[]): Buffer {
  return box('ftyp', Buffer.from(major + '\0\0\0\0' + brands.join(''), 'latin1'));
}

describe('sniffFormat', () => {
  it('recognises the common image signatures by content', () => {
    expect(sniffFormat(bytes([0xff, 0xd8, 0xff, 0xe0], 'JFIF'))).toBe('jpeg');
    expect(sniffFormat(bytes([0x89], 'PNG\r\n', [0x1a, 0x0a], 'rest'))).toBe('png');
    expect(sniffFormat(bytes('GIF87a....'))).toBe('gif');
    expect(sniffFormat(bytes('GIF89a....'))).toBe('gif');
    expect(sniffFormat(bytes('RIFF', [0, 0, 0, 0], 'WEBPVP8 '))).toBe('webp');
    expect(sniffFormat(bytes('II*\0', [8, 0, 0, 0]))).toBe('tiff');
    expect(sniffFormat(bytes('MM\0*', [0, 0, 0, 8]))).toBe('tiff');
    expect(sniffFormat(bytes('II+\0', [8, 0, 0, 0, 0, 0, 0, 0]))).toBe('tiff');
  });

  it('needs a plausible DIB header before calling BM a bitmap', () => {
    const bmp = Buffer.alloc(64);
    bmp.write('BM', 0, 'latin1');
    bmp.writeUInt32LE(40, 14);
    expect(sniffFormat(bmp)).toBe('bmp');
    bmp.writeUInt32LE(41, 14);
    expect(sniffFormat(bmp)).toBeNull();
    expect(sniffFormat(bytes('BM hello there, a text file that starts with BM'))).toBeNull();
  });

  it('tells HEIC, AVIF, CR3 and video apart by their ftyp brands', () => {
    expect(sniffFormat(ftyp('heic', 'mif1heic'))).toBe('heic');
    expect(sniffFormat(ftyp('heix', 'mif1'))).toBe('heic');
    expect(sniffFormat(ftyp('mif1', 'mif1heic'))).toBe('heic');
    expect(sniffFormat(ftyp('msf1', 'hevc'))).toBe('heic');
    expect(sniffFormat(ftyp('mif1', 'mif1miaf'))).toBe('heic');
    expect(sniffFormat(ftyp('avif', 'mif1avifmiaf'))).toBe('avif');
    expect(sniffFormat(ftyp('avis', 'msf1avif'))).toBe('avif');
    expect(sniffFormat(ftyp('mif1', 'mif1avif'))).toBe('avif');
    expect(sniffFormat(ftyp('crx ', 'crx isom'))).toBe('raw');
    expect(detectRawKind(ftyp('crx ', 'crx isom'))).toBe('CR3');
    expect(sniffFormat(ftyp('isom', 'isomiso2avc1mp41'))).toBeNull();
    expect(sniffFormat(ftyp('qt  ', 'qt  '))).toBeNull();
  });

  it('recognises the non-TIFF RAW containers', () => {
    expect(detectRawKind(bytes('FUJIFILMCCD-RAW 0201'))).toBe('RAF');
    expect(detectRawKind(bytes('\0MRM', [0, 0, 0, 8]))).toBe('MRW');
    expect(detectRawKind(bytes('FOVb', [0, 0, 0, 0]))).toBe('X3F');
    expect(detectRawKind(bytes('II', [0x1a, 0, 0, 0], 'HEAPCCDR'))).toBe('CRW');
    expect(sniffFormat(bytes('FUJIFILMCCD-RAW 0201'))).toBe('raw');
  });

  it('tells TIFF-based RAW from plain TIFF by header magic, DNG, sensor and preview tags', () => {
    const make = (maker: string) => ({ tag: 0x010f, ascii: maker });
    const plain: IfdSpec = {
      entries: [{ tag: 0x100, short: [4] }, make('FUJIFILM'), { tag: 0x103, short: [1] }],
    };
    expect(sniffFormat(buildTiff(plain))).toBe('tiff');

    const cr2 = buildTiff(plain, { afterHeader: bytes('CR', [2, 0, 0, 0, 0, 0]) });
    expect(detectRawKind(cr2)).toBe('CR2');
    expect(detectRawKind(buildTiff(plain, { magic: 0x4f52 }))).toBe('ORF');
    expect(detectRawKind(buildTiff(plain, { littleEndian: false, magic: 0x4f52 }))).toBe('ORF');
    expect(detectRawKind(buildTiff(plain, { magic: 0x55 }))).toBe('RW2');

    const dng = buildTiff(
      { entries: [{ tag: 0xc612, bytes: Buffer.from([1, 4, 0, 0]) }] },
      { littleEndian: false },
    );
    expect(detectRawKind(dng)).toBe('DNG');

    const cfa: IfdSpec = {
      entries: [
        { tag: 0x106, short: [32803] },
        { tag: 0x103, short: [1] },
      ],
    };
    const nef = buildTiff({ entries: [make('NIKON CORPORATION'), { tag: 0x14a, ifds: [cfa] }] });
    expect(detectRawKind(nef)).toBe('NEF');
    expect(sniffFormat(nef)).toBe('raw');

    const pef = buildTiff({
      entries: [make('PENTAX Corporation'), { tag: 0x103, short: [65535] }],
    });
    expect(detectRawKind(pef)).toBe('PEF');

    const preview = tinyJpeg(160, 120);
    const arw = buildTiff({
      entries: [
        make('SONY'),
        { tag: 0x201, blob: preview },
        { tag: 0x202, long: [preview.length] },
      ],
    });
    expect(detectRawKind(arw)).toBe('ARW');
    // The same preview without a maker is not evidence of a camera file.
    const anonymous = buildTiff({
      entries: [
        { tag: 0x201, blob: preview },
        { tag: 0x202, long: [preview.length] },
      ],
    });
    expect(sniffFormat(anonymous)).toBe('tiff');
  });

  it('reads a JPEG whose first segment is damaged as a JPEG, so it is reported as corrupt', () => {
    expect(sniffFormat(Buffer.concat([bytes([0xff, 0xd8]), Buffer.alloc(62, 0x55)]))).toBe('jpeg');
  });

  it('returns null for short, empty or unknown content', () => {
    expect(sniffFormat(Buffer.alloc(0))).toBeNull();
    expect(sniffFormat(bytes([0xff, 0xd8]))).toBeNull();
    expect(sniffFormat(bytes('%PDF-1.7\n'))).toBeNull();
    expect(sniffFormat(Buffer.alloc(100, 0))).toBeNull();
  });
});

describe('JPEG structure scanning', () => {
  it('finds the frame size and the end of a complete stream', () => {
    const jpeg = tinyJpeg(640, 480);
    expect(scanJpeg(jpeg, 0)).toMatchObject({
      start: 0,
      end: jpeg.length,
      width: 640,
      height: 480,
      sof: 0xc0,
    });
  });

  it('says whether a stream is cut short or malformed', () => {
    const jpeg = tinyJpeg(64, 48);
    expect(inspectJpeg(jpeg.subarray(0, jpeg.length - 3), 0)).toEqual({ damage: 'cut' });
    const broken = Buffer.from(jpeg);
    broken[2] = 0x12; // a byte where a marker must be
    expect(inspectJpeg(broken, 0)).toEqual({ damage: 'malformed' });
  });

  it('carves nested and concatenated streams out of a container', () => {
    const big = tinyJpeg(1600, 1200);
    const small = tinyJpeg(160, 120, 0xc2);
    const lossless = tinyJpeg(6000, 4000, 0xc3);
    const blob = Buffer.concat([
      Buffer.alloc(37, 0xff),
      small,
      Buffer.alloc(11),
      big,
      lossless,
      bytes([0xff, 0xd8, 0xff]),
    ]);
    const found = carveJpegs(blob).map((s) => [s.width, s.height, s.sof]);
    expect(found).toEqual([
      [160, 120, 0xc2],
      [1600, 1200, 0xc0],
      [6000, 4000, 0xc3],
    ]);
  });
});

describe('checkDeclaredSize', () => {
  it('accepts a real panorama: 690 MP in 35 MB is 20 pixels per byte', () => {
    expect(checkDeclaredSize(23_000, 30_000, 35_000_000, false)).toBeNull();
  });

  it('refuses a PNG header claiming 30,000 x 30,000 pixels in a few kilobytes as a bomb', () => {
    expect(checkDeclaredSize(30_000, 30_000, 4_000, false)?.code).toBe('DECOMPRESSION_BOMB');
  });

  it('refuses anything over the absolute cap, whatever its size on disk', () => {
    const side = Math.ceil(Math.sqrt(MAX_PIXELS)) + 1;
    expect(checkDeclaredSize(side, side, 2_000_000_000, false)?.code).toBe('TOO_LARGE');
  });

  it('does not apply the bomb ratio to small images (a flat 1x1 or 4000x4000 PNG)', () => {
    expect(checkDeclaredSize(1, 1, 60, false)).toBeNull();
    expect(checkDeclaredSize(4000, 4000, 2_000, false)).toBeNull();
  });

  it('caps images that a decoder must hold whole in memory lower', () => {
    expect(checkDeclaredSize(12_000, 12_000, 50_000_000, false)).toBeNull();
    const failure = checkDeclaredSize(12_000, 12_000, 50_000_000, true);
    expect(failure?.code).toBe('TOO_LARGE_IN_MEMORY');
    expect(12_000 * 12_000).toBeGreaterThan(IN_MEMORY_MAX_PIXELS);
  });
});

describe('orientSquare', () => {
  // A 2x2 image whose pixels are numbered 1..4 (row-major): [[1,2],[3,4]].
  const square = Buffer.from([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
  const grid = (buf: Buffer) => [buf[0], buf[3], buf[6], buf[9]];

  it.each([
    [1, [1, 2, 3, 4]],
    [2, [2, 1, 4, 3]],
    [3, [4, 3, 2, 1]],
    [4, [3, 4, 1, 2]],
    [5, [1, 3, 2, 4]],
    [6, [3, 1, 4, 2]],
    [7, [4, 2, 3, 1]],
    [8, [2, 4, 1, 3]],
  ])(
    'applies EXIF orientation %i as the EXIF specification displays it',
    (orientation, expected) => {
      expect(grid(orientSquare(square, 2, orientation))).toEqual(expected);
    },
  );
});

describe('EXIF value formatting', () => {
  it('turns EXIF dates into ISO 8601 with sub-seconds and offset when recorded', () => {
    expect(formatExifDate('2019:10:20 18:34:30', '130', '+02:00')).toBe(
      '2019-10-20T18:34:30.130+02:00',
    );
    expect(formatExifDate('2019:10:20 18:34:30', undefined, undefined)).toBe('2019-10-20T18:34:30');
    expect(formatExifDate('2021-06-01T10:00:00.25-0500', undefined, undefined)).toBe(
      '2021-06-01T10:00:00.25-05:00',
    );
  });

  it('rejects empty and impossible dates', () => {
    expect(formatExifDate('0000:00:00 00:00:00', undefined, undefined)).toBeNull();
    expect(formatExifDate('2019:13:01 10:00:00', undefined, undefined)).toBeNull();
    expect(formatExifDate('    ', undefined, undefined)).toBeNull();
    expect(formatExifDate(20191020, undefined, undefined)).toBeNull();
  });

  it('names the camera without repeating the maker', () => {
    expect(formatCamera('Apple', 'iPhone 7')).toBe('Apple iPhone 7');
    expect(formatCamera('Canon', 'Canon EOS 350D DIGITAL')).toBe('Canon EOS 350D DIGITAL');
    expect(formatCamera('NIKON CORPORATION', 'NIKON D70')).toBe('NIKON D70');
    expect(formatCamera(' FUJIFILM ', 'X-T2\0')).toBe('FUJIFILM X-T2');
    expect(formatCamera(undefined, undefined)).toBeNull();
  });
});

describe('BMP decoding of hand-built files', () => {
  /** A BITMAPINFOHEADER BMP with the given palette and pixel data. */
  function bmp(
    width: number,
    height: number,
    bitCount: number,
    compression: number,
    palette: number[][],
    data: number[],
  ): Buffer {
    const pal = Buffer.from(palette.flatMap(([r, g, b]) => [b, g, r, 0]));
    const header = Buffer.alloc(54);
    header.write('BM', 0, 'latin1');
    header.writeUInt32LE(54 + pal.length + data.length, 2);
    header.writeUInt32LE(54 + pal.length, 10);
    header.writeUInt32LE(40, 14);
    header.writeInt32LE(width, 18);
    header.writeInt32LE(height, 22);
    header.writeUInt16LE(1, 26);
    header.writeUInt16LE(bitCount, 28);
    header.writeUInt32LE(compression, 30);
    header.writeUInt32LE(palette.length, 46);
    return Buffer.concat([header, pal, Buffer.from(data)]);
  }
  const palette = [
    [0, 0, 0],
    [255, 0, 0],
    [0, 255, 0],
    [0, 0, 255],
  ];

  it('expands RLE4 runs, absolute runs and end-of-line codes, bottom row first', () => {
    // Bottom row: run of 4 pixels alternating 1,2; top row: absolute 3,0,1,2.
    const rle = [4, 0x12, 0, 0, 0, 4, 0x30, 0x12, 0, 0, 0, 1];
    const file = bmp(4, 2, 4, 2, palette, rle);
    const pixels = decodeBmpPixels(file, readBmpHeader(file));
    const ids = [];
    for (let i = 0; i < 8; i++)
      ids.push(
        palette.findIndex(
          (c) =>
            c[0] === pixels.data[i * 3] &&
            c[1] === pixels.data[i * 3 + 1] &&
            c[2] === pixels.data[i * 3 + 2],
        ),
      );
    expect(ids).toEqual([3, 0, 1, 2, 1, 2, 1, 2]);
  });

  it('reports cut-short pixel data as truncated and an impossible bit depth as a corrupt header', () => {
    const file = bmp(4, 2, 8, 0, palette, [1, 2, 3, 0, 1, 2]);
    expect(() => decodeBmpPixels(file, readBmpHeader(file))).toThrow(/cut short/);
    const odd = bmp(4, 2, 7, 0, palette, []);
    expect(() => readBmpHeader(odd)).toThrow(/7 bits per pixel/);
  });
});

describe('container inspection', () => {
  it('finds a WebP whose RIFF size runs past the end of the file', () => {
    const webp = bytes('RIFF', [100, 0, 0, 0], 'WEBPVP8 ');
    expect(inspectContainer(webp, 'webp')?.kind).toBe('cut');
  });

  it('tells lossless WebP (decoded whole) from lossy, also inside animation frames', () => {
    const chunk = (type: string, body: Buffer) => {
      const head = Buffer.alloc(8);
      head.write(type, 0, 'latin1');
      head.writeUInt32LE(body.length, 4);
      return Buffer.concat([head, body, Buffer.alloc(body.length & 1)]);
    };
    const riff = (...chunks: Buffer[]) =>
      Buffer.concat([bytes('RIFF', [0, 0, 0, 0], 'WEBP'), ...chunks]);
    expect(isLosslessWebp(riff(chunk('VP8L', Buffer.alloc(5))))).toBe(true);
    expect(isLosslessWebp(riff(chunk('VP8 ', Buffer.alloc(10))))).toBe(false);
    const frame = chunk('ANMF', Buffer.concat([Buffer.alloc(16), chunk('VP8L', Buffer.alloc(3))]));
    expect(
      isLosslessWebp(riff(chunk('VP8X', Buffer.alloc(10)), chunk('ANIM', Buffer.alloc(6)), frame)),
    ).toBe(true);
  });

  it('finds a TIFF whose strips lie past the end', () => {
    const tiff = buildTiff({
      entries: [
        { tag: 0x111, long: [5000] },
        { tag: 0x117, long: [100] },
      ],
    });
    expect(inspectContainer(tiff, 'tiff')).toMatchObject({ kind: 'cut' });
  });
});
