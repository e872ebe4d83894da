/**
 * Walks JPEG marker structure without decoding pixels: where a JPEG stream ends, its frame type
 * and size. Used to find and validate the previews embedded in RAW files.
 */

/** A structurally complete JPEG stream inside a larger buffer. */
export interface JpegStream {
  /** Offset of the SOI marker. */
  start: number;
  /** Offset just past the EOI marker. */
  end: number;
  width: number;
  height: number;
  /** The SOF marker byte (0xc0 baseline, 0xc2 progressive, 0xc3 lossless...). */
  sof: number;
  /** Bits per sample from the frame header. */
  precision: number;
}

const SOI = Buffer.from([0xff, 0xd8, 0xff]);
/** Frame types an 8-bit libjpeg decodes: Huffman baseline/extended/progressive, arithmetic. */
const DISPLAYABLE_SOF = new Set([0xc0, 0xc1, 0xc2, 0xc9, 0xca]);

/** True for a JPEG a normal decoder can show (not a lossless RAW payload, not 12-bit). */
export function isDisplayableJpeg(stream: JpegStream): boolean {
  return DISPLAYABLE_SOF.has(stream.sof) && stream.precision === 8;
}

function isSof(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/** Where a JPEG's structure breaks: the data stops ('cut'), or bytes are not markers ('malformed'). */
export type JpegDamage = 'cut' | 'malformed';

/**
 * Follows the markers of the JPEG at `start` up to its EOI, not looking past `limit`. Returns
 * null when the bytes are not a JPEG, have no frame header or stop before the EOI marker.
 */
export function scanJpeg(buf: Buffer, start: number, limit = buf.length): JpegStream | null {
  const result = inspectJpeg(buf, start, limit);
  return 'damage' in result ? null : result;
}

/** The stream, or how its structure is damaged. */
export function inspectJpeg(
  buf: Buffer,
  start: number,
  limit = buf.length,
): JpegStream | { damage: JpegDamage } {
  const end = Math.min(limit, buf.length);
  const cut = { damage: 'cut' as const };
  const malformed = { damage: 'malformed' as const };
  if (start < 0 || start + 4 > end || buf[start] !== 0xff || buf[start + 1] !== 0xd8)
    return malformed;
  let frame: Pick<JpegStream, 'width' | 'height' | 'sof' | 'precision'> | null = null;
  let p = start + 2;
  while (p < end) {
    if (buf[p] !== 0xff) return malformed;
    while (p < end && buf[p] === 0xff) p++;
    if (p >= end) return cut;
    const marker = buf[p++];
    if (marker === 0xd9) return frame ? { start, end: p, ...frame } : malformed;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0x00) return malformed;
    if (p + 2 > end) return cut;
    const length = buf.readUInt16BE(p);
    if (length < 2) return malformed;
    if (p + length > end) return cut;
    if (isSof(marker)) {
      if (length < 8) return malformed;
      frame = {
        sof: marker,
        precision: buf[p + 2],
        height: buf.readUInt16BE(p + 3),
        width: buf.readUInt16BE(p + 5),
      };
      if (frame.width === 0 || frame.height === 0) return malformed;
    }
    p += length;
    if (marker === 0xda) {
      const next = skipEntropyData(buf, p, end);
      if (next < 0) return cut;
      p = next;
    }
  }
  return cut;
}

/** Offset of the marker that ends the entropy-coded segment starting at `from`, or -1. */
function skipEntropyData(buf: Buffer, from: number, end: number): number {
  let q = from;
  for (;;) {
    q = buf.indexOf(0xff, q);
    if (q < 0 || q + 1 >= end) return -1;
    const b = buf[q + 1];
    if (b === 0x00 || (b >= 0xd0 && b <= 0xd7)) q += 2;
    else if (b === 0xff) q += 1;
    else return q;
  }
}

/**
 * Every complete JPEG stream found anywhere in `buf` (nested ones included, such as an EXIF
 * thumbnail inside a preview), at most `max` of them. This finds previews in containers whose
 * layout we do not parse (maker notes, CRW heaps, X3F sections, CR3 media data).
 */
export function carveJpegs(buf: Buffer, max = 64): JpegStream[] {
  const found: JpegStream[] = [];
  let from = 0;
  // Bounded attempts: a hostile file full of fake SOI markers must not cost quadratic time.
  for (let attempts = 0; found.length < max && attempts < 4 * max; attempts++) {
    const at = buf.indexOf(SOI, from);
    if (at < 0) break;
    const stream = scanJpeg(buf, at);
    if (stream) found.push(stream);
    from = at + 3;
  }
  return found;
}
