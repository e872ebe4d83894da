/**
 * Builders for the decoder's test inputs that no tool writes for us: TIFF structures (RAW
 * stand-ins, EXIF blocks, Apple maker notes), JPEGs carrying them, minimal CR3 and RAF
 * containers, and HEIF files with irot/imir transforms added.
 */
import { execFileSync } from 'node:child_process';
import { listBoxes, type Box } from '../../src-main/engine/decode/bmff.reader';

/** One directory entry to write. */
export type EntrySpec =
  | { tag: number; ascii: string }
  | { tag: number; short: number[] }
  | { tag: number; long: number[] }
  | { tag: number; bytes: Buffer }
  /** LONG offsets to directories (SubIFDs, ExifIFD...). */
  | { tag: number; ifds: IfdSpec[] }
  /** LONG offset to a data blob (a JPEG preview, strips); pair with a length tag yourself. */
  | { tag: number; blob: Buffer };

export interface IfdSpec {
  entries: EntrySpec[];
  next?: IfdSpec;
}

export interface TiffOptions {
  littleEndian?: boolean;
  /** Magic number after the byte-order mark: 42 (TIFF), 0x4f52 (ORF 'RO'), 0x55 (RW2). */
  magic?: number;
  /** Bytes written after the 8-byte header, before IFD0 (the CR2 signature...). */
  afterHeader?: Buffer;
  /** Replaces the whole 8-byte header (Apple maker notes); IFD0 then follows it. */
  prefix?: Buffer;
}

/** Writes a TIFF structure; offsets count from byte 0 of the result. */
export function buildTiff(ifd0: IfdSpec, opts: TiffOptions = {}): Buffer {
  const le = opts.littleEndian ?? true;
  let out = Buffer.alloc(0);
  const append = (bytes: Buffer): number => {
    if (out.length % 2) out = Buffer.concat([out, Buffer.alloc(1)]);
    const at = out.length;
    out = Buffer.concat([out, bytes]);
    return at;
  };
  const u16 = (v: number): Buffer => {
    const b = Buffer.alloc(2);
    if (le) b.writeUInt16LE(v);
    else b.writeUInt16BE(v);
    return b;
  };
  const u32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    if (le) b.writeUInt32LE(v);
    else b.writeUInt32BE(v);
    return b;
  };
  const patch32 = (at: number, v: number): void => {
    if (le) out.writeUInt32LE(v, at);
    else out.writeUInt32BE(v, at);
  };

  if (opts.prefix) {
    append(opts.prefix);
  } else {
    append(Buffer.concat([Buffer.from(le ? 'II' : 'MM', 'latin1'), u16(opts.magic ?? 42), u32(0)]));
    if (opts.afterHeader) append(opts.afterHeader);
  }

  const writeIfd = (spec: IfdSpec): number => {
    const entries = [...spec.entries].sort((a, b) => a.tag - b.tag);
    const at = append(Buffer.alloc(2 + entries.length * 12 + 4));
    out.set(u16(entries.length), at);
    entries.forEach((entry, i) => {
      const e = at + 2 + i * 12;
      let type: number;
      let count: number;
      let data: Buffer;
      if ('ascii' in entry) {
        [type, data] = [2, Buffer.from(entry.ascii + '\0', 'latin1')];
        count = data.length;
      } else if ('short' in entry) {
        [type, count, data] = [3, entry.short.length, Buffer.concat(entry.short.map(u16))];
      } else if ('long' in entry) {
        [type, count, data] = [4, entry.long.length, Buffer.concat(entry.long.map(u32))];
      } else if ('bytes' in entry) {
        [type, count, data] = [7, entry.bytes.length, entry.bytes];
      } else if ('ifds' in entry) {
        [type, count, data] = [4, entry.ifds.length, Buffer.alloc(4 * entry.ifds.length)];
      } else {
        [type, count, data] = [4, 1, Buffer.alloc(4)];
      }
      out.set(Buffer.concat([u16(entry.tag), u16(type), u32(count)]), e);
      const valueAt = data.length <= 4 ? e + 8 : append(data);
      if (data.length <= 4) out.set(data, e + 8);
      else patch32(e + 8, valueAt);
      if ('ifds' in entry) {
        entry.ifds.forEach((sub, k) => patch32(valueAt + 4 * k, writeIfd(sub)));
      } else if ('blob' in entry) {
        patch32(valueAt, append(entry.blob));
      }
    });
    if (spec.next) patch32(at + 2 + entries.length * 12, writeIfd(spec.next));
    return at;
  };
  const first = writeIfd(ifd0);
  if (!opts.prefix) patch32(4, first);
  return out;
}

/** An Apple iOS maker note whose directory holds `strings` (tag -> ASCII value). */
export function buildAppleMakerNote(strings: Record<number, string>): Buffer {
  const prefix = Buffer.concat([
    Buffer.from('Apple iOS\0', 'latin1'),
    Buffer.from([0, 1]),
    Buffer.from('MM'),
  ]);
  const entries = Object.entries(strings).map(([tag, ascii]) => ({ tag: Number(tag), ascii }));
  return buildTiff({ entries }, { littleEndian: false, prefix });
}

/** `jpeg` with an APP1 EXIF segment holding `tiff` inserted right after SOI. */
export function withExifSegment(jpeg: Buffer, tiff: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const head = Buffer.from([0xff, 0xe1, 0, 0]);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), head, body, jpeg.subarray(2)]);
}

/** An ISO BMFF box. */
export function box(type: string, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
}

function u32(...values: number[]): Buffer {
  const out = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => out.writeUInt32BE(v, 4 * i));
  return out;
}

/**
 * A small QuickTime movie like an iPhone Live Photo video: ftyp 'qt  ', a media atom of filler
 * bytes placed BEFORE moov (as cameras write them), and moov/meta with hdlr 'mdta', keys and ilst
 * holding `keys` (name -> UTF-8 value). `isoMeta` writes meta as an ISO full box (version/flags).
 */
export function buildQuickTimeMovie(
  keys: Record<string, string>,
  opts: { isoMeta?: boolean; mediaBytes?: number } = {},
): Buffer {
  const names = Object.keys(keys);
  const keyEntries = names.map((name) => {
    const n = Buffer.from(name, 'latin1');
    return Buffer.concat([u32(8 + n.length), Buffer.from('mdta'), n]);
  });
  const items = names.map((name, i) => {
    const value = Buffer.from(keys[name], 'utf8');
    const data = box('data', u32(1, 0), value);
    const head = Buffer.concat([u32(8 + data.length), u32(i + 1)]);
    return Buffer.concat([head, data]);
  });
  const hdlr = box('hdlr', u32(0, 0), Buffer.from('mdta'), Buffer.alloc(12), Buffer.from([0]));
  const metaBody = [hdlr, box('keys', u32(0, names.length), ...keyEntries), box('ilst', ...items)];
  const meta = opts.isoMeta ? box('meta', u32(0), ...metaBody) : box('meta', ...metaBody);
  return Buffer.concat([
    box('ftyp', Buffer.from('qt  '), u32(0), Buffer.from('qt  ')),
    box('mdat', Buffer.alloc(opts.mediaBytes ?? 4096, 7)),
    box('moov', box('mvhd', Buffer.alloc(100)), meta),
  ]);
}

/**
 * A minimal Canon CR3: ftyp 'crx ', moov holding Canon's metadata uuid (CMT1 IFD0 TIFF, CMT2
 * EXIF TIFF, THMB) and a preview uuid holding PRVW with `preview`.
 */
export function buildCr3(cmt1: Buffer, cmt2: Buffer, preview: Buffer): Buffer {
  const ftyp = box('ftyp', Buffer.from('crx \0\0\0\x01crx isom', 'latin1'));
  const meta = box(
    'uuid',
    Buffer.from('85c0b687820f11e08111f4ce462b6a48', 'hex'),
    box('CNCV', Buffer.from('CanonCR3_001/00.09.00/00.00.00', 'latin1')),
    box('CMT1', cmt1),
    box('CMT2', cmt2),
  );
  const prvwHeader = Buffer.alloc(16); // unknown fields, width, height, JPEG size...
  prvwHeader.writeUInt32BE(preview.length, 12);
  const prvw = box(
    'uuid',
    Buffer.from('eaf42b5e1c984b88b9fbb7dc406e4d16', 'hex'),
    Buffer.alloc(8),
    box('PRVW', prvwHeader, preview),
  );
  return Buffer.concat([ftyp, box('moov', meta), prvw]);
}

/**
 * A minimal Fujifilm RAF: 'FUJIFILMCCD-RAW' header, the embedded JPEG (which carries the EXIF)
 * at the offset the header names, and a tag directory with the cropped sensor size.
 */
export function buildRaf(jpeg: Buffer, sensorWidth: number, sensorHeight: number): Buffer {
  const header = Buffer.alloc(160);
  header.write('FUJIFILMCCD-RAW 0201FF129502', 0, 'latin1');
  header.write('X-T5', 28, 'latin1');
  const dir = Buffer.alloc(4 + 8);
  dir.writeUInt32BE(1, 0);
  dir.writeUInt16BE(0x0111, 4);
  dir.writeUInt16BE(4, 6);
  dir.writeUInt16BE(sensorHeight, 8);
  dir.writeUInt16BE(sensorWidth, 10);
  const jpegAt = header.length;
  const dirAt = jpegAt + jpeg.length;
  header.writeUInt32BE(jpegAt, 84);
  header.writeUInt32BE(jpeg.length, 88);
  header.writeUInt32BE(dirAt, 92);
  header.writeUInt32BE(dir.length, 96);
  return Buffer.concat([header, jpeg, dir]);
}

/**
 * Adds HEIF transform properties to the primary item of `heif` (as written by heif-enc):
 * irot (`rotation` x 90 degrees anticlockwise) and, when given, imir (`mirrorAxis`).
 */
export function addHeifTransforms(heif: Buffer, rotation: number, mirrorAxis?: 0 | 1): Buffer {
  const props = [box('irot', Buffer.from([rotation & 3]))];
  if (mirrorAxis !== undefined) props.push(box('imir', Buffer.from([mirrorAxis])));
  return addHeifProperties(heif, props);
}

/** A 'colr' property box of type nclx (ITU-T H.273 code points). */
export function nclxBox(
  primaries: number,
  transfer: number,
  matrix: number,
  fullRange = true,
): Buffer {
  const body = Buffer.alloc(11);
  body.write('nclx', 0, 'latin1');
  body.writeUInt16BE(primaries, 4);
  body.writeUInt16BE(transfer, 6);
  body.writeUInt16BE(matrix, 8);
  body[10] = fullRange ? 0x80 : 0;
  return box('colr', body);
}

/**
 * Appends property boxes to ipco and associates them with the primary item of `heif` (as
 * written by heif-enc), patching box sizes and the iloc file offsets that move.
 */
export function addHeifProperties(heif: Buffer, props: Buffer[]): Buffer {
  const top = listBoxes(heif, 0);
  const meta = top.find((b) => b.type === 'meta') as Box;
  const metaHead = heif.subarray(meta.start, meta.content + 4);
  const children = listBoxes(heif, meta.content + 4, meta.end);
  const pitm = children.find((b) => b.type === 'pitm') as Box;
  const primary =
    heif[pitm.content] === 0
      ? heif.readUInt16BE(pitm.content + 4)
      : heif.readUInt32BE(pitm.content + 4);

  const rebuiltChildren = children.map((child) => {
    if (child.type !== 'iprp') return heif.subarray(child.start, child.end);
    const parts = listBoxes(heif, child.content, child.end).map((part) => {
      if (part.type === 'ipco') {
        const count = listBoxes(heif, part.content, part.end).length;
        return {
          kind: 'ipco',
          count,
          bytes: box('ipco', heif.subarray(part.content, part.end), ...props),
        };
      }
      return { kind: part.type, count: 0, bytes: heif.subarray(part.start, part.end) };
    });
    const ipcoCount = parts.find((p) => p.kind === 'ipco')?.count ?? 0;
    const added = props.map((_, i) => ipcoCount + 1 + i);
    const rebuilt = parts.map((p) =>
      p.kind === 'ipma' ? addAssociations(p.bytes, primary, added) : p.bytes,
    );
    return box('iprp', ...rebuilt);
  });
  const newMetaBody = Buffer.concat(rebuiltChildren);
  const newMeta = Buffer.concat([metaHead, newMetaBody]);
  newMeta.writeUInt32BE(newMeta.length, 0);
  const delta = newMeta.length - (meta.end - meta.start);
  const out = Buffer.concat([heif.subarray(0, meta.start), newMeta, heif.subarray(meta.end)]);
  shiftIlocOffsets(out, meta.start, delta, meta.end);
  return out;
}

function addAssociations(ipmaBox: Buffer, item: number, indexes: number[]): Buffer {
  const version = ipmaBox[8];
  const wide = (ipmaBox[11] & 1) === 1;
  const idSize = version < 1 ? 2 : 4;
  const chunks: Buffer[] = [ipmaBox.subarray(8, 16)];
  let p = 16;
  const count = ipmaBox.readUInt32BE(12);
  for (let i = 0; i < count; i++) {
    const id = idSize === 2 ? ipmaBox.readUInt16BE(p) : ipmaBox.readUInt32BE(p);
    const n = ipmaBox[p + idSize];
    const assocBytes = n * (wide ? 2 : 1);
    const existing = ipmaBox.subarray(p + idSize + 1, p + idSize + 1 + assocBytes);
    const extra = id === item ? indexes : [];
    const head = Buffer.alloc(idSize + 1);
    if (idSize === 2) head.writeUInt16BE(id);
    else head.writeUInt32BE(id);
    head[idSize] = n + extra.length;
    const more = extra.map((index) =>
      wide ? Buffer.from([index >> 8, index & 255]) : Buffer.from([index]),
    );
    chunks.push(head, existing, ...more);
    p += idSize + 1 + assocBytes;
  }
  return box('ipma', ...chunks);
}

/** Adds `delta` to every iloc file offset that pointed at or after `from` (data after meta). */
function shiftIlocOffsets(buf: Buffer, metaStart: number, delta: number, from: number): void {
  const meta = listBoxes(buf, metaStart).find((b) => b.type === 'meta') as Box;
  const iloc = listBoxes(buf, meta.content + 4, meta.end).find((b) => b.type === 'iloc') as Box;
  const version = buf[iloc.content];
  let p = iloc.content + 4;
  const offsetSize = buf[p] >> 4;
  const lengthSize = buf[p] & 15;
  const baseSize = buf[p + 1] >> 4;
  const indexSize = version >= 1 ? buf[p + 1] & 15 : 0;
  p += 2;
  const read = (size: number): number =>
    size === 4
      ? buf.readUInt32BE(p)
      : size === 8
        ? Number(buf.readBigUInt64BE(p))
        : size === 2
          ? buf.readUInt16BE(p)
          : 0;
  const write = (size: number, v: number): void => {
    if (size === 4) buf.writeUInt32BE(v, p);
    else if (size === 8) buf.writeBigUInt64BE(BigInt(v), p);
  };
  const count = read(version < 2 ? 2 : 4);
  p += version < 2 ? 2 : 4;
  for (let i = 0; i < count; i++) {
    p += version < 2 ? 2 : 4;
    let method = 0;
    if (version >= 1) {
      method = buf.readUInt16BE(p) & 15;
      p += 2;
    }
    p += 2;
    const base = read(baseSize);
    const shiftBase = method === 0 && baseSize > 0 && base >= from;
    if (shiftBase) write(baseSize, base + delta);
    p += baseSize;
    const extents = buf.readUInt16BE(p);
    p += 2;
    for (let e = 0; e < extents; e++) {
      p += indexSize;
      const offset = read(offsetSize);
      if (method === 0 && !shiftBase && offset >= from) write(offsetSize, offset + delta);
      p += offsetSize + lengthSize;
    }
  }
}

/** True when `command` runs here (Debian's heif-enc, ImageMagick's convert...). */
export function hasTool(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Mean absolute difference of two equally long byte arrays. */
export function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new RangeError(`lengths differ: ${a.length} vs ${b.length}`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}
