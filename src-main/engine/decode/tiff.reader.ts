/**
 * A small, bounds-checked reader of TIFF-structured data: plain TIFF headers, the TIFF-based RAW
 * containers (CR2, NEF, ARW, DNG, PEF, ORF, RW2) and TIFF blocks inside other files (CR3 CMT
 * boxes). It never throws on bad offsets: a read outside the buffer gives null.
 */

/** One directory entry; `valueOffset` is absolute in the reader's buffer. */
export interface IfdEntry {
  tag: number;
  type: number;
  count: number;
  valueOffset: number;
}

/** A directory: its entries by tag, and the offset of the next directory (0 when none). */
export interface Ifd {
  offset: number;
  entries: Map<number, IfdEntry>;
  next: number;
}

/** Bytes per value of each TIFF field type (index = type); 0 for unknown types. */
const TYPE_SIZES = [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4, 0, 0, 8, 8, 8];
/** More entries than this in one directory means we are reading garbage. */
const MAX_ENTRIES = 1000;

/** The TIFF, EXIF, DNG and Panasonic tag numbers the decoder reads. */
export const TAG = {
  IMAGE_WIDTH: 0x0100,
  IMAGE_LENGTH: 0x0101,
  COMPRESSION: 0x0103,
  PHOTOMETRIC: 0x0106,
  MAKE: 0x010f,
  MODEL: 0x0110,
  STRIP_OFFSETS: 0x0111,
  ORIENTATION: 0x0112,
  STRIP_BYTE_COUNTS: 0x0117,
  SUB_IFDS: 0x014a,
  JPEG_OFFSET: 0x0201,
  JPEG_LENGTH: 0x0202,
  EXIF_IFD: 0x8769,
  GPS_IFD: 0x8825,
  EXIF_IMAGE_WIDTH: 0xa002,
  EXIF_IMAGE_HEIGHT: 0xa003,
  DNG_VERSION: 0xc612,
  /** Panasonic RW2: the embedded JPEG itself, stored as an UNDEFINED value in IFD0. */
  RW2_JPG_FROM_RAW: 0x002e,
} as const;

/** Reads directories of one TIFF structure whose header starts at `base` in `buf`. */
export class TiffReader {
  readonly littleEndian: boolean;

  private constructor(
    readonly buf: Buffer,
    readonly base: number,
    littleEndian: boolean,
  ) {
    this.littleEndian = littleEndian;
  }

  /**
   * A reader whose offsets count from `base` but whose byte order is given rather than read
   * there: maker notes (Apple's) put the byte-order mark after a header of their own.
   */
  static withByteOrder(buf: Buffer, base: number, littleEndian: boolean): TiffReader {
    return new TiffReader(buf, base, littleEndian);
  }

  /**
   * A reader for the TIFF header at `base`, or null when the bytes there are not a byte-order
   * mark. The magic number is not checked, so ORF ('RO') and RW2 (0x55) headers open too.
   */
  static open(buf: Buffer, base = 0): TiffReader | null {
    if (base < 0 || base + 8 > buf.length) return null;
    const order = buf.toString('latin1', base, base + 2);
    if (order !== 'II' && order !== 'MM') return null;
    return new TiffReader(buf, base, order === 'II');
  }

  /** The 16-bit magic number after the byte-order mark (42 for TIFF). */
  get magic(): number {
    return this.u16(this.base + 2) ?? 0;
  }

  /** Offset (relative to the header) of the first directory. */
  get firstIfdOffset(): number {
    return this.u32(this.base + 4) ?? 0;
  }

  /** 16-bit value at absolute offset `abs` in the file's byte order, or null out of bounds. */
  u16(abs: number): number | null {
    if (abs < 0 || abs + 2 > this.buf.length) return null;
    return this.littleEndian ? this.buf.readUInt16LE(abs) : this.buf.readUInt16BE(abs);
  }

  /** 32-bit value at absolute offset `abs` in the file's byte order, or null out of bounds. */
  u32(abs: number): number | null {
    if (abs < 0 || abs + 4 > this.buf.length) return null;
    return this.littleEndian ? this.buf.readUInt32LE(abs) : this.buf.readUInt32BE(abs);
  }

  /** The directory at `offset` (relative to the header), or null when it does not fit. */
  readIfd(offset: number): Ifd | null {
    const start = this.base + offset;
    const count = offset > 0 ? this.u16(start) : null;
    if (count === null || count === 0 || count > MAX_ENTRIES) return null;
    if (start + 2 + count * 12 + 4 > this.buf.length) return null;
    const entries = new Map<number, IfdEntry>();
    for (let i = 0; i < count; i++) {
      const at = start + 2 + i * 12;
      const tag = this.u16(at) as number;
      const type = this.u16(at + 2) as number;
      const valueCount = this.u32(at + 4) as number;
      const size = (TYPE_SIZES[type] ?? 0) * valueCount;
      const valueOffset = size <= 4 ? at + 8 : this.base + (this.u32(at + 8) as number);
      if (!entries.has(tag)) entries.set(tag, { tag, type, count: valueCount, valueOffset });
    }
    return { offset, entries, next: this.u32(start + 2 + count * 12) ?? 0 };
  }

  /** Integer value `index` of an entry (BYTE, SHORT, LONG, IFD types), or null. */
  uint(entry: IfdEntry | undefined, index = 0): number | null {
    if (!entry || index >= entry.count) return null;
    switch (entry.type) {
      case 1:
      case 7:
        return entry.valueOffset + index < this.buf.length
          ? this.buf[entry.valueOffset + index]
          : null;
      case 3:
      case 8:
        return this.u16(entry.valueOffset + index * 2);
      case 4:
      case 9:
      case 13:
        return this.u32(entry.valueOffset + index * 4);
      default:
        return null;
    }
  }

  /** Up to `max` integer values of an entry. */
  uints(entry: IfdEntry | undefined, max = 64): number[] {
    const out: number[] = [];
    for (let i = 0; entry && i < Math.min(entry.count, max); i++) {
      const v = this.uint(entry, i);
      if (v === null) break;
      out.push(v);
    }
    return out;
  }

  /** An ASCII entry as a trimmed string without its NULs, or null. */
  string(entry: IfdEntry | undefined): string | null {
    const raw = this.bytes(entry);
    if (!raw) return null;
    const text = raw
      .toString('latin1')
      .replace(/\0[\s\S]*$/, '')
      .trim();
    return text || null;
  }

  /** The raw bytes of an entry's value (a view, not a copy), or null when out of bounds. */
  bytes(entry: IfdEntry | undefined): Buffer | null {
    if (!entry) return null;
    const size = (TYPE_SIZES[entry.type] ?? 0) * entry.count;
    if (size === 0 || entry.valueOffset + size > this.buf.length) return null;
    return this.buf.subarray(entry.valueOffset, entry.valueOffset + size);
  }

  /**
   * IFD0 and the directories it leads to: the IFD chain (IFD1, IFD2...), SubIFDs (recursively,
   * a few levels deep) and, when `withExif`, the EXIF directory. Each directory is read once.
   */
  collectIfds(withExif = false): Ifd[] {
    const seen = new Set<number>();
    const out: Ifd[] = [];
    const visit = (offset: number, depth: number): void => {
      if (depth > 3 || out.length >= 64 || seen.has(offset)) return;
      seen.add(offset);
      const ifd = this.readIfd(offset);
      if (!ifd) return;
      out.push(ifd);
      for (const sub of this.uints(ifd.entries.get(TAG.SUB_IFDS), 16)) visit(sub, depth + 1);
      if (withExif) {
        const exif = this.uint(ifd.entries.get(TAG.EXIF_IFD));
        if (exif) visit(exif, depth + 1);
      }
    };
    let next = this.firstIfdOffset;
    for (let i = 0; next && i < 16 && !seen.has(next); i++) {
      visit(next, 0);
      next = this.readIfd(next)?.next ?? 0;
    }
    return out;
  }
}
