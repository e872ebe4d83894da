/**
 * Decodes Windows and OS/2 BMP files to RGB(A) pixels, because sharp's libvips has no BMP loader.
 * Covers 1/2/4/8-bit palettes, 16/24/32-bit pixels, bit-field masks with alpha, RLE4 and RLE8;
 * BMPs that wrap a JPEG or PNG hand that stream back for sharp to decode.
 */

/** Why a BMP could not be decoded: a header that makes no sense, or pixel data cut short. */
export class BmpError extends Error {
  constructor(
    readonly code: 'CORRUPT_HEADER' | 'TRUNCATED' | 'UNSUPPORTED_VARIANT',
    message: string,
  ) {
    super(message);
    this.name = 'BmpError';
  }
}

/** What the headers say about the pixels. */
export interface BmpHeader {
  width: number;
  height: number;
  topDown: boolean;
  bitCount: number;
  compression: number;
  dataOffset: number;
  /** RGB triples. */
  palette: Uint8Array;
  /** Red, green, blue, alpha bit masks for 16/32-bit pixels. */
  masks: [number, number, number, number];
}

/** Decoded pixels: rows top-down, 3 or 4 interleaved channels. */
export interface BmpPixels {
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
}

const BI_RGB = 0;
const BI_RLE8 = 1;
const BI_RLE4 = 2;
const BI_BITFIELDS = 3;
const BI_JPEG = 4;
const BI_PNG = 5;
const BI_ALPHABITFIELDS = 6;

/** Reads the file and DIB headers. Throws BmpError('CORRUPT_HEADER') when they make no sense. */
export function readBmpHeader(buf: Buffer): BmpHeader {
  if (buf.length < 26 || buf.toString('latin1', 0, 2) !== 'BM') {
    throw new BmpError('CORRUPT_HEADER', 'the BMP header is incomplete');
  }
  const dataOffset = buf.readUInt32LE(10);
  const headerSize = buf.readUInt32LE(14);
  const isCore = headerSize === 12;
  if (14 + headerSize > buf.length) {
    throw new BmpError('CORRUPT_HEADER', `the BMP header (${headerSize} bytes) is cut short`);
  }
  const width = isCore ? buf.readUInt16LE(18) : buf.readInt32LE(18);
  const rawHeight = isCore ? buf.readUInt16LE(20) : buf.readInt32LE(22);
  const bitCount = isCore ? buf.readUInt16LE(24) : buf.readUInt16LE(28);
  const compression = headerSize >= 20 ? buf.readUInt32LE(30) : BI_RGB;
  const isOs2v2 = headerSize === 16 || headerSize === 64;
  if (width <= 0 || rawHeight === 0 || rawHeight === -0x80000000) {
    throw new BmpError(
      'CORRUPT_HEADER',
      `the BMP header gives an impossible size ${width}x${rawHeight}`,
    );
  }
  if (![1, 2, 4, 8, 16, 24, 32].includes(bitCount)) {
    throw new BmpError('CORRUPT_HEADER', `the BMP header gives ${bitCount} bits per pixel`);
  }
  if (isOs2v2 && compression >= 3) {
    throw new BmpError(
      'UNSUPPORTED_VARIANT',
      `OS/2 BMP compression ${compression} is not supported`,
    );
  }

  const hasMaskFields = compression === BI_BITFIELDS || compression === BI_ALPHABITFIELDS;
  const trailingMasks =
    headerSize === 40 && hasMaskFields ? (compression === BI_ALPHABITFIELDS ? 16 : 12) : 0;
  const masks = readMasks(buf, headerSize, compression, bitCount);
  const paletteEntries = readPaletteCount(buf, headerSize, bitCount);
  const palette = readPalette(buf, 14 + headerSize + trailingMasks, paletteEntries, isCore ? 3 : 4);
  return {
    width,
    height: Math.abs(rawHeight),
    topDown: rawHeight < 0,
    bitCount,
    compression,
    dataOffset,
    palette,
    masks,
  };
}

function readMasks(
  buf: Buffer,
  headerSize: number,
  compression: number,
  bitCount: number,
): [number, number, number, number] {
  if (compression === BI_BITFIELDS || compression === BI_ALPHABITFIELDS) {
    // Version 2+ headers hold the masks inside; a 40-byte header is followed by them.
    const at = 54;
    const withAlpha = headerSize >= 56 || compression === BI_ALPHABITFIELDS;
    if (at + (withAlpha ? 16 : 12) > buf.length) {
      throw new BmpError('CORRUPT_HEADER', 'the BMP colour masks are missing');
    }
    const alpha = withAlpha ? buf.readUInt32LE(at + 12) : 0;
    return [buf.readUInt32LE(at), buf.readUInt32LE(at + 4), buf.readUInt32LE(at + 8), alpha];
  }
  if (bitCount === 16) return [0x7c00, 0x03e0, 0x001f, 0];
  return [0xff0000, 0x00ff00, 0x0000ff, 0];
}

function readPaletteCount(buf: Buffer, headerSize: number, bitCount: number): number {
  if (bitCount > 8) return 0;
  const used = headerSize >= 36 ? buf.readUInt32LE(46) : 0;
  return used > 0 && used < 1 << bitCount ? used : 1 << bitCount;
}

function readPalette(buf: Buffer, at: number, entries: number, entrySize: number): Uint8Array {
  const palette = new Uint8Array(256 * 3);
  for (let i = 0; i < entries && at + i * entrySize + 3 <= buf.length; i++) {
    const p = at + i * entrySize;
    palette[i * 3] = buf[p + 2];
    palette[i * 3 + 1] = buf[p + 1];
    palette[i * 3 + 2] = buf[p];
  }
  return palette;
}

/**
 * The JPEG or PNG stream a BMP wraps (compression 4 or 5), or null for an ordinary BMP.
 * Throws BmpError('TRUNCATED') when the stream lies past the end of the file.
 */
export function embeddedStream(buf: Buffer, header: BmpHeader): Buffer | null {
  if (header.compression !== BI_JPEG && header.compression !== BI_PNG) return null;
  if (header.dataOffset >= buf.length)
    throw new BmpError('TRUNCATED', 'the BMP pixel data is missing');
  return buf.subarray(header.dataOffset);
}

/** Decodes the pixels. Throws BmpError when they are cut short or use an unknown compression. */
export function decodeBmpPixels(buf: Buffer, header: BmpHeader): BmpPixels {
  const { width, height, compression, bitCount } = header;
  let data: Buffer;
  let channels: 3 | 4 = 3;
  if (compression === BI_RLE8 || compression === BI_RLE4) {
    if ((compression === BI_RLE8 ? 8 : 4) !== bitCount) {
      throw new BmpError('CORRUPT_HEADER', `RLE compression with ${bitCount} bits per pixel`);
    }
    data = expandPalette(decodeRle(buf, header), header.palette);
  } else if (
    compression === BI_RGB ||
    compression === BI_BITFIELDS ||
    compression === BI_ALPHABITFIELDS
  ) {
    if (bitCount <= 8) {
      data = expandPalette(readIndexes(buf, header), header.palette);
    } else {
      const hasAlpha = header.masks[3] !== 0;
      data = readDirectPixels(buf, header, hasAlpha ? 4 : 3);
      channels = hasAlpha && !isAllTransparent(data) ? 4 : 3;
      if (hasAlpha && channels === 3) data = dropAlpha(data);
    }
  } else {
    throw new BmpError('UNSUPPORTED_VARIANT', `BMP compression ${compression} is not supported`);
  }
  return { data, width, height, channels };
}

function rowStride(header: BmpHeader): number {
  return Math.floor((header.bitCount * header.width + 31) / 32) * 4;
}

function checkUncompressedLength(buf: Buffer, header: BmpHeader): void {
  const lastRowBytes = Math.ceil((header.bitCount * header.width) / 8);
  const needed = header.dataOffset + rowStride(header) * (header.height - 1) + lastRowBytes;
  if (needed > buf.length) {
    throw new BmpError(
      'TRUNCATED',
      `the BMP pixel data is cut short: ${needed - buf.length} of ${needed - header.dataOffset} bytes missing`,
    );
  }
}

/** File row holding display row `y`. */
function fileRow(header: BmpHeader, y: number): number {
  return header.topDown ? y : header.height - 1 - y;
}

function readIndexes(buf: Buffer, header: BmpHeader): Uint8Array {
  checkUncompressedLength(buf, header);
  const { width, height, bitCount } = header;
  const stride = rowStride(header);
  const perByte = 8 / bitCount;
  const mask = (1 << bitCount) - 1;
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const row = header.dataOffset + fileRow(header, y) * stride;
    for (let x = 0; x < width; x++) {
      const byte = buf[row + Math.floor(x / perByte)];
      const shift = 8 - bitCount * ((x % perByte) + 1);
      out[y * width + x] = (byte >> shift) & mask;
    }
  }
  return out;
}

function expandPalette(indexes: Uint8Array, palette: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(indexes.length * 3);
  for (let i = 0; i < indexes.length; i++) {
    const p = indexes[i] * 3;
    out[i * 3] = palette[p];
    out[i * 3 + 1] = palette[p + 1];
    out[i * 3 + 2] = palette[p + 2];
  }
  return out;
}

/** Shift and scale that take one masked channel to 0..255. */
function channelOf(mask: number): { shift: number; max: number } {
  if (mask === 0) return { shift: 0, max: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  return { shift, max: mask >>> shift };
}

function readDirectPixels(buf: Buffer, header: BmpHeader, channels: 3 | 4): Buffer {
  checkUncompressedLength(buf, header);
  const { width, height, bitCount } = header;
  const stride = rowStride(header);
  const bytesPer = bitCount / 8;
  const fields = header.masks.map(channelOf);
  const out = Buffer.allocUnsafe(width * height * channels);
  for (let y = 0; y < height; y++) {
    const row = header.dataOffset + fileRow(header, y) * stride;
    for (let x = 0; x < width; x++) {
      const p = row + x * bytesPer;
      const o = (y * width + x) * channels;
      if (bitCount === 24) {
        out[o] = buf[p + 2];
        out[o + 1] = buf[p + 1];
        out[o + 2] = buf[p];
        continue;
      }
      const v = bitCount === 16 ? buf.readUInt16LE(p) : buf.readUInt32LE(p);
      for (let c = 0; c < channels; c++) {
        const { shift, max } = fields[c];
        out[o + c] =
          max === 0 ? 0 : Math.round(((((v >>> 0) & header.masks[c]) >>> shift) * 255) / max);
      }
    }
  }
  return out;
}

/** True when every alpha byte is 0: writers that leave alpha unset mean an opaque image. */
function isAllTransparent(rgba: Buffer): boolean {
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i] !== 0) return false;
  return true;
}

function dropAlpha(rgba: Buffer): Buffer {
  const out = Buffer.allocUnsafe((rgba.length / 4) * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    out[j] = rgba[i];
    out[j + 1] = rgba[i + 1];
    out[j + 2] = rgba[i + 2];
  }
  return out;
}

/**
 * Expands RLE8/RLE4 data to palette indexes, display rows top-down. Pixels the stream skips
 * (delta codes, early end of line) take palette entry 0.
 * Limitation: Windows shows skipped pixels as transparent; here they are opaque palette colour 0.
 */
function decodeRle(buf: Buffer, header: BmpHeader): Uint8Array {
  const { width, height } = header;
  const isRle4 = header.compression === BI_RLE4;
  const out = new Uint8Array(width * height);
  const put = (x: number, y: number, index: number): void => {
    if (x < width && y < height) out[(height - 1 - y) * width + x] = index;
  };
  let x = 0;
  let y = 0;
  let p = header.dataOffset;
  while (y < height) {
    if (p + 2 > buf.length) {
      throw new BmpError('TRUNCATED', `the BMP run-length data stops at row ${y} of ${height}`);
    }
    const count = buf[p];
    const value = buf[p + 1];
    p += 2;
    if (count > 0) {
      for (let i = 0; i < count; i++, x++) {
        put(x, y, isRle4 ? (i % 2 === 0 ? value >> 4 : value & 15) : value);
      }
    } else if (value === 0) {
      x = 0;
      y++;
    } else if (value === 1) {
      break;
    } else if (value === 2) {
      if (p + 2 > buf.length)
        throw new BmpError('TRUNCATED', 'the BMP run-length data is cut short');
      x += buf[p];
      y += buf[p + 1];
      p += 2;
    } else {
      const bytes = isRle4 ? (value + 1) >> 1 : value;
      if (p + bytes > buf.length)
        throw new BmpError('TRUNCATED', 'the BMP run-length data is cut short');
      for (let i = 0; i < value; i++, x++) {
        const byte = buf[p + (isRle4 ? i >> 1 : i)];
        put(x, y, isRle4 ? (i % 2 === 0 ? byte >> 4 : byte & 15) : byte);
      }
      p += bytes + (bytes & 1);
    }
  }
  return out;
}
