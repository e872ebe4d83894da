/**
 * Reads the Apple content identifier of a QuickTime movie (a Live Photo's video), the value iOS
 * also writes in the still's maker note, so a photo and a video renamed apart still pair up.
 *
 * It lives in the movie's metadata: `moov/meta` holds a `keys` atom listing key names
 * (`mdta` namespace) and an `ilst` atom whose children are typed by 1-based key index, each with
 * a `data` atom (type 1: UTF-8). Only atom headers and the `moov` atom are read, never the media.
 */
import fs from 'node:fs';

export const CONTENT_ID_KEY = 'com.apple.quicktime.content.identifier';

/** The largest `moov` atom read; real Live Photo movies have a few tens of kilobytes. */
const MAX_MOOV_BYTES = 8 * 1024 * 1024;
/** Top-level atoms stepped over before giving up (a movie has a handful). */
const MAX_TOP_ATOMS = 64;

interface Atom {
  type: string;
  /** Offset of the atom's payload and its end, within the buffer (or file) read. */
  start: number;
  end: number;
}

/** The content identifier of the movie at `file`, or null when it has none or is not a movie. */
export function readQuickTimeContentId(file: string | Buffer): string | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const moov = readTopLevelMoov(fd);
    return moov ? contentIdFromMoov(moov) : null;
  } catch {
    // An unreadable or malformed movie is just a video without an identifier: the scan goes on.
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

/** Steps over top-level atoms by their headers and reads `moov` whole. */
function readTopLevelMoov(fd: number): Buffer | null {
  const size = fs.fstatSync(fd).size;
  const header = Buffer.alloc(16);
  let offset = 0;
  for (let i = 0; i < MAX_TOP_ATOMS && offset + 8 <= size; i++) {
    const got = fs.readSync(fd, header, 0, 16, offset);
    if (got < 8) return null;
    let length = header.readUInt32BE(0);
    const type = header.toString('latin1', 4, 8);
    let headerLength = 8;
    if (length === 1) {
      if (got < 16) return null;
      length = Number(header.readBigUInt64BE(8));
      headerLength = 16;
    } else if (length === 0) {
      length = size - offset;
    }
    if (length < headerLength || offset + length > size) return null;
    if (type === 'moov') {
      const body = length - headerLength;
      if (body > MAX_MOOV_BYTES) return null;
      const moov = Buffer.alloc(body);
      fs.readSync(fd, moov, 0, body, offset + headerLength);
      return moov;
    }
    offset += length;
  }
  return null;
}

/** The children of the atom payload `buf[start, end)`. */
function children(buf: Buffer, start: number, end: number): Atom[] {
  const out: Atom[] = [];
  let offset = start;
  while (offset + 8 <= end) {
    let length = buf.readUInt32BE(offset);
    let headerLength = 8;
    if (length === 1) {
      if (offset + 16 > end) break;
      length = Number(buf.readBigUInt64BE(offset + 8));
      headerLength = 16;
    } else if (length === 0) {
      length = end - offset;
    }
    if (length < headerLength || offset + length > end) break;
    out.push({
      type: buf.toString('latin1', offset + 4, offset + 8),
      start: offset + headerLength,
      end: offset + length,
    });
    offset += length;
  }
  return out;
}

function contentIdFromMoov(moov: Buffer): string | null {
  const meta = children(moov, 0, moov.length).find((a) => a.type === 'meta');
  if (!meta) return null;
  // QuickTime's `meta` is a plain atom; the ISO one has 4 bytes of version and flags first.
  let atoms = children(moov, meta.start, meta.end);
  if (!atoms.some((a) => a.type === 'keys')) atoms = children(moov, meta.start + 4, meta.end);
  const keys = atoms.find((a) => a.type === 'keys');
  const ilst = atoms.find((a) => a.type === 'ilst');
  if (!keys || !ilst) return null;

  const index = keyIndex(moov, keys);
  if (index === null) return null;
  for (const item of children(moov, ilst.start, ilst.end)) {
    if (moov.readUInt32BE(item.start - 4) !== index) continue;
    const data = children(moov, item.start, item.end).find((a) => a.type === 'data');
    // data payload: type (4 bytes, 1 = UTF-8), locale (4 bytes), then the value.
    if (!data || data.end - data.start < 8 || moov.readUInt32BE(data.start) !== 1) return null;
    const value = moov.toString('utf8', data.start + 8, data.end).trim();
    return value.length > 0 ? value : null;
  }
  return null;
}

/** The 1-based index of the content identifier among the `keys` entries, or null. */
function keyIndex(moov: Buffer, keys: Atom): number | null {
  if (keys.end - keys.start < 8) return null;
  const count = moov.readUInt32BE(keys.start + 4);
  let offset = keys.start + 8;
  for (let i = 1; i <= count && offset + 8 <= keys.end; i++) {
    const length = moov.readUInt32BE(offset);
    if (length < 8 || offset + length > keys.end) return null;
    const name = moov.toString('latin1', offset + 8, offset + length);
    if (name === CONTENT_ID_KEY) return i;
    offset += length;
  }
  return null;
}
