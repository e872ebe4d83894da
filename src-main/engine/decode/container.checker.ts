/**
 * After a decoder failed, tells whether the file's own structure shows it was cut short (the
 * container declares more bytes than exist) or is malformed, so the problem reported names the
 * real cause instead of the decoder's wording.
 */
import { missingCase } from '../../contract/errors';
import type { ImageFormat } from '../../contract/types';
import { findCutBox, readHeifDataEnd } from './bmff.reader';
import { inspectJpeg } from './jpeg.scanner';
import { TiffReader } from './tiff.reader';

/** What the structure says: cut short, or malformed in its header; with a one-line detail. */
export interface ContainerDamage {
  kind: 'cut' | 'malformed';
  detail: string;
}

/** How `buf` (a file of `format`) is damaged, or null when its structure looks whole. */
export function inspectContainer(buf: Buffer, format: ImageFormat): ContainerDamage | null {
  switch (format) {
    case 'jpeg':
      return inspectJpegFile(buf);
    case 'png':
      return inspectPng(buf);
    case 'webp':
      return inspectWebp(buf);
    case 'tiff':
      return inspectTiff(buf);
    case 'avif':
    case 'heic':
      return inspectHeif(buf);
    case 'gif':
      return buf[buf.length - 1] === 0x3b
        ? null
        : { kind: 'cut', detail: 'the GIF data stops before its trailer byte' };
    case 'bmp':
    case 'raw':
      return null;
    default:
      return missingCase(format);
  }
}

function cutShort(what: string, needed: number, have: number): ContainerDamage {
  return { kind: 'cut', detail: `${what} needs ${needed} bytes, the file has ${have}` };
}

function inspectJpegFile(buf: Buffer): ContainerDamage | null {
  const result = inspectJpeg(buf, 0);
  if (!('damage' in result)) return null;
  return result.damage === 'cut'
    ? { kind: 'cut', detail: 'the JPEG data stops before its end-of-image marker' }
    : {
        kind: 'malformed',
        detail: 'the JPEG marker structure is broken (bytes that are not markers)',
      };
}

function inspectPng(buf: Buffer): ContainerDamage | null {
  let p = 8;
  while (p + 8 <= buf.length) {
    const length = buf.readUInt32BE(p);
    const type = buf.toString('latin1', p + 4, p + 8);
    if (!/^[A-Za-z]{4}$/.test(type)) {
      return { kind: 'malformed', detail: `the PNG chunk at byte ${p} has no valid type` };
    }
    if (p + 12 + length > buf.length)
      return cutShort(`the PNG ${type} chunk`, p + 12 + length, buf.length);
    if (type === 'IEND') return null;
    p += 12 + length;
  }
  return { kind: 'cut', detail: 'the PNG data stops before its IEND chunk' };
}

function inspectWebp(buf: Buffer): ContainerDamage | null {
  if (buf.length < 12) return { kind: 'cut', detail: 'the WebP header is incomplete' };
  const declared = buf.readUInt32LE(4) + 8;
  return declared > buf.length ? cutShort('the WebP container', declared, buf.length) : null;
}

function inspectTiff(buf: Buffer): ContainerDamage | null {
  const reader = TiffReader.open(buf);
  if (!reader) return { kind: 'malformed', detail: 'the TIFF header has no byte-order mark' };
  const first = reader.firstIfdOffset;
  if (first + 2 > buf.length) return cutShort('the TIFF first directory', first + 2, buf.length);
  const ifd = reader.readIfd(first);
  if (!ifd) return { kind: 'malformed', detail: 'the TIFF first directory cannot be read' };
  let furthest = 0;
  for (const [offsetsTag, countsTag] of [
    [0x0111, 0x0117],
    [0x0144, 0x0145],
  ]) {
    const offsets = reader.uints(ifd.entries.get(offsetsTag), 1 << 16);
    const counts = reader.uints(ifd.entries.get(countsTag), 1 << 16);
    offsets.forEach((offset, i) => (furthest = Math.max(furthest, offset + (counts[i] ?? 0))));
  }
  return furthest > buf.length ? cutShort('the TIFF image data', furthest, buf.length) : null;
}

function inspectHeif(buf: Buffer): ContainerDamage | null {
  const cutBox = findCutBox(buf);
  if (cutBox) {
    const name = /^[\x20-\x7e]{4}$/.test(cutBox) ? `'${cutBox.trim()}' box` : 'last box';
    return { kind: 'cut', detail: `the ${name} runs past the end of the file` };
  }
  const end = readHeifDataEnd(buf);
  return end !== null && end > buf.length ? cutShort('the image data', end, buf.length) : null;
}

/**
 * True when a WebP's (first) image is lossless VP8L: libwebp then rebuilds the whole frame in
 * memory before scaling, unlike lossy VP8, which it scales while decoding.
 */
export function isLosslessWebp(buf: Buffer): boolean {
  let p = 12;
  for (let chunks = 0; p + 8 <= buf.length && chunks < 64; chunks++) {
    const type = buf.toString('latin1', p, p + 4);
    const size = buf.readUInt32LE(p + 4);
    if (type === 'VP8L') return true;
    if (type === 'VP8 ') return false;
    // An animation frame holds its image chunks after a 16-byte frame header.
    p = type === 'ANMF' ? p + 8 + 16 : p + 8 + size + (size & 1);
  }
  return false;
}
