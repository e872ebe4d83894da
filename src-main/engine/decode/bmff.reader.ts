/**
 * Reads the few ISO base media file format (ISO/IEC 14496-12) boxes the decoder needs: the ftyp
 * brands (HEIC, AVIF, CR3), a HEIF primary item's colour property (ISO/IEC 23008-12), and the
 * boxes of a Canon CR3. Bounds-checked: malformed boxes end the walk, never throw.
 */

/** One box: its four-character type and where its header and content lie in the buffer. */
export interface Box {
  type: string;
  start: number;
  /** Offset of the first content byte (after the size, type and any 64-bit size). */
  content: number;
  end: number;
}

/** Colour information of a HEIF image: an ICC profile, or nclx code points (ITU-T H.273). */
export type HeifColour =
  | { kind: 'icc'; icc: Buffer }
  | { kind: 'nclx'; primaries: number; transfer: number; matrix: number };

/** The boxes laid end to end in [start, end); stops at the first malformed one. */
export function listBoxes(buf: Buffer, start: number, end = buf.length): Box[] {
  const out: Box[] = [];
  const limit = Math.min(end, buf.length);
  let p = start;
  while (p + 8 <= limit && out.length < 4096) {
    let size = buf.readUInt32BE(p);
    let content = p + 8;
    if (size === 1) {
      if (p + 16 > limit) break;
      size = Number(buf.readBigUInt64BE(p + 8));
      content = p + 16;
    } else if (size === 0) {
      size = limit - p;
    }
    if (size < content - p || p + size > limit) break;
    out.push({ type: buf.toString('latin1', p + 4, p + 8), start: p, content, end: p + size });
    p += size;
  }
  return out;
}

/**
 * The type of the first top-level box that runs past the end of `buf` (a file cut short), or
 * null when every box fits.
 */
export function findCutBox(buf: Buffer): string | null {
  let p = 0;
  while (p + 8 <= buf.length) {
    let size = buf.readUInt32BE(p);
    if (size === 1 && p + 16 <= buf.length) size = Number(buf.readBigUInt64BE(p + 8));
    if (size === 0) return null; // runs to the end of the file by definition
    if (size < 8) return null; // malformed, not cut
    if (p + size > buf.length) return buf.toString('latin1', p + 4, p + 8);
    p += size;
  }
  return p < buf.length ? 'box header' : null;
}

/** The first child of type `type` in [start, end), or null. */
export function findBox(buf: Buffer, type: string, start: number, end = buf.length): Box | null {
  return listBoxes(buf, start, end).find((b) => b.type === type) ?? null;
}

/** The major brand and compatible brands of a file that opens with an ftyp box, or null. */
export function readFtyp(buf: Buffer): { major: string; brands: string[] } | null {
  if (buf.length < 16 || buf.toString('latin1', 4, 8) !== 'ftyp') return null;
  const size = buf.readUInt32BE(0);
  if (size < 16 || size > buf.length || size > 4096) return null;
  const brands: string[] = [];
  for (let p = 16; p + 4 <= size; p += 4) brands.push(buf.toString('latin1', p, p + 4));
  return { major: buf.toString('latin1', 8, 12), brands };
}

/** The content boxes of the top-level 'meta' box (a full box: 4 bytes of version and flags). */
function metaChildren(buf: Buffer): Box[] {
  const meta = findBox(buf, 'meta', 0);
  return meta ? listBoxes(buf, meta.content + 4, meta.end) : [];
}

function readPrimaryItemId(buf: Buffer, children: Box[]): number | null {
  const pitm = children.find((b) => b.type === 'pitm');
  if (!pitm) return null;
  const wide = buf[pitm.content] !== 0;
  if (pitm.content + (wide ? 8 : 6) > pitm.end) return null;
  return wide ? buf.readUInt32BE(pitm.content + 4) : buf.readUInt16BE(pitm.content + 4);
}

/** Item id -> 1-based indexes into ipco, from the ipma box. */
function readAssociations(buf: Buffer, ipma: Box): Map<number, number[]> {
  const out = new Map<number, number[]>();
  const version = buf[ipma.content];
  const wideIndex = (buf[ipma.content + 3] & 1) === 1;
  let p = ipma.content + 4;
  if (p + 4 > ipma.end) return out;
  const count = buf.readUInt32BE(p);
  p += 4;
  for (let i = 0; i < count && p < ipma.end; i++) {
    const idSize = version < 1 ? 2 : 4;
    if (p + idSize + 1 > ipma.end) break;
    const id = idSize === 2 ? buf.readUInt16BE(p) : buf.readUInt32BE(p);
    const n = buf[p + idSize];
    p += idSize + 1;
    const indexes: number[] = [];
    const step = wideIndex ? 2 : 1;
    for (let k = 0; k < n && p + step <= ipma.end; k++) {
      indexes.push(wideIndex ? buf.readUInt16BE(p) & 0x7fff : buf[p] & 0x7f);
      p += step;
    }
    out.set(id, indexes);
  }
  return out;
}

/** The first item a 'dimg' reference of `from` points to (a grid's first tile), or null. */
function readFirstDerivedFrom(buf: Buffer, children: Box[], from: number): number | null {
  const iref = children.find((b) => b.type === 'iref');
  if (!iref) return null;
  const wide = buf[iref.content] !== 0;
  const idSize = wide ? 4 : 2;
  const read = (p: number): number => (wide ? buf.readUInt32BE(p) : buf.readUInt16BE(p));
  for (const ref of listBoxes(buf, iref.content + 4, iref.end)) {
    if (ref.type !== 'dimg' || ref.content + idSize + 2 + idSize > ref.end) continue;
    if (read(ref.content) !== from) continue;
    return read(ref.content + idSize + 2);
  }
  return null;
}

function parseColr(buf: Buffer, colr: Box): HeifColour | null {
  if (colr.content + 4 > colr.end) return null;
  const kind = buf.toString('latin1', colr.content, colr.content + 4);
  if ((kind === 'prof' || kind === 'rICC') && colr.end - colr.content > 132) {
    return { kind: 'icc', icc: buf.subarray(colr.content + 4, colr.end) };
  }
  if (kind === 'nclx' && colr.content + 10 <= colr.end) {
    return {
      kind: 'nclx',
      primaries: buf.readUInt16BE(colr.content + 4),
      transfer: buf.readUInt16BE(colr.content + 6),
      matrix: buf.readUInt16BE(colr.content + 8),
    };
  }
  return null;
}

/**
 * The colour property of a HEIF file's primary item (or, for a grid without its own, of its
 * first tile). An ICC profile wins over nclx when both are present. Null when there is none.
 */
export function readHeifColour(buf: Buffer): HeifColour | null {
  const children = metaChildren(buf);
  const primary = readPrimaryItemId(buf, children);
  const iprp = children.find((b) => b.type === 'iprp');
  if (primary === null || !iprp) return null;
  const iprpChildren = listBoxes(buf, iprp.content, iprp.end);
  const ipco = iprpChildren.find((b) => b.type === 'ipco');
  const ipma = iprpChildren.find((b) => b.type === 'ipma');
  if (!ipco || !ipma) return null;
  const properties = listBoxes(buf, ipco.content, ipco.end);
  const associations = readAssociations(buf, ipma);

  const colourOf = (item: number): HeifColour | null => {
    const found = (associations.get(item) ?? [])
      .map((index) => properties[index - 1])
      .filter((box): box is Box => box?.type === 'colr')
      .map((box) => parseColr(buf, box))
      .filter((c): c is HeifColour => c !== null);
    return found.find((c) => c.kind === 'icc') ?? found[0] ?? null;
  };
  const own = colourOf(primary);
  if (own) return own;
  const tile = readFirstDerivedFrom(buf, children, primary);
  return tile === null ? null : colourOf(tile);
}

/**
 * The end offset of the furthest item data that a HEIF file's iloc box places in the file itself
 * (construction method 0), or null when there is no readable iloc. A value past the buffer's end
 * means the file was cut short: libheif would still decode it, filling missing tiles.
 */
export function readHeifDataEnd(buf: Buffer): number | null {
  const iloc = metaChildren(buf).find((b) => b.type === 'iloc');
  if (!iloc || iloc.content + 8 > iloc.end) return null;
  const version = buf[iloc.content];
  let p = iloc.content + 4;
  const offsetSize = buf[p] >> 4;
  const lengthSize = buf[p] & 15;
  const baseOffsetSize = buf[p + 1] >> 4;
  const indexSize = version >= 1 ? buf[p + 1] & 15 : 0;
  p += 2;
  const readN = (size: number): number | null => {
    if (p + size > iloc.end) return null;
    let v: number | null = null;
    if (size === 0) v = 0;
    else if (size === 2) v = buf.readUInt16BE(p);
    else if (size === 4) v = buf.readUInt32BE(p);
    else if (size === 8) v = Number(buf.readBigUInt64BE(p));
    p += size;
    return v;
  };
  const itemCount = readN(version < 2 ? 2 : 4);
  if (itemCount === null) return null;
  let furthest = 0;
  for (let i = 0; i < itemCount; i++) {
    if (readN(version < 2 ? 2 : 4) === null) return null; // item id
    let method = 0;
    if (version >= 1) {
      if (p + 2 > iloc.end) return null;
      method = buf.readUInt16BE(p) & 15;
      p += 2;
    }
    p += 2; // data reference index
    const base = readN(baseOffsetSize);
    const extents = readN(2);
    if (base === null || extents === null) return null;
    for (let e = 0; e < extents; e++) {
      if (indexSize && readN(indexSize) === null) return null;
      const offset = readN(offsetSize);
      const length = readN(lengthSize);
      if (offset === null || length === null) return null;
      if (method === 0) furthest = Math.max(furthest, base + offset + length);
    }
  }
  return furthest;
}
