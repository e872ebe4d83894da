/**
 * Decides a file's image type from its bytes alone (never from its name), including which RAW
 * container a TIFF-structured file is.
 */
import type { ImageFormat } from '../../contract/types';
import { readFtyp } from './bmff.reader';
import { TAG, TiffReader, type Ifd } from './tiff.reader';

/** The RAW containers told apart by their bytes; 'TIFF-RAW' is any other TIFF-based RAW. */
export type RawKind =
  | 'CR2'
  | 'CR3'
  | 'NEF'
  | 'ARW'
  | 'DNG'
  | 'PEF'
  | 'ORF'
  | 'RW2'
  | 'RAF'
  | 'SRW'
  | 'CRW'
  | 'MRW'
  | 'X3F'
  | 'TIFF-RAW';

const HEIC_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'hevm', 'hevs']);
const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEIF_GENERIC_BRANDS = new Set(['mif1', 'msf1', 'mif2', 'miaf']);
/** TIFF compression codes used only for sensor data (Sony, Nikon, Pentax, Panasonic, Samsung...). */
const RAW_COMPRESSIONS = new Set([
  32767, 32769, 32770, 32771, 32772, 34316, 34713, 34892, 65000, 65535,
]);
/** PhotometricInterpretation values of sensor data: colour filter array, linear raw. */
const RAW_PHOTOMETRIC = new Set([32803, 34892]);
/** Old-style JPEG compression: in camera files it carries a preview, not a plain TIFF image. */
const OLD_JPEG_COMPRESSION = 6;
/** DIB header sizes of the BMP variants (OS/2 1.x, Windows 3.x-5, OS/2 2.x, Adobe). */
const BMP_HEADER_SIZES = new Set([12, 16, 40, 52, 56, 64, 108, 124]);

function startsWith(buf: Buffer, text: string, at = 0): boolean {
  return buf.length >= at + text.length && buf.toString('latin1', at, at + text.length) === text;
}

/**
 * The image type of `buf` by its magic bytes: JPEG, PNG, GIF, WebP, BMP, TIFF, HEIC/HEIF and AVIF
 * brands, and RAW containers (TIFF-based CR2/NEF/ARW/DNG/PEF/ORF/RW2/SRW, CR3, RAF, CRW, MRW, X3F).
 * Null when the bytes match none of them.
 */
export function sniffFormat(buf: Buffer): ImageFormat | null {
  if (buf.length < 4) return null;
  // The SOI marker alone decides: a JPEG whose first segment is damaged is still a JPEG (with a
  // corrupt header), not an unknown file.
  if (buf[0] === 0xff && buf[1] === 0xd8) return 'jpeg';
  if (buf.length >= 8 && buf.readUInt32BE(0) === 0x89504e47 && buf.readUInt32BE(4) === 0x0d0a1a0a) {
    return 'png';
  }
  if (startsWith(buf, 'GIF87a') || startsWith(buf, 'GIF89a')) return 'gif';
  if (startsWith(buf, 'RIFF') && startsWith(buf, 'WEBP', 8)) return 'webp';
  if (isBmp(buf)) return 'bmp';
  const ftyp = readFtyp(buf);
  if (ftyp) return classifyFtyp(ftyp);
  if (detectRawKind(buf)) return 'raw';
  if (startsWith(buf, 'II*\0') || startsWith(buf, 'MM\0*')) return 'tiff';
  if (startsWith(buf, 'II+\0') || startsWith(buf, 'MM\0+')) return 'tiff'; // BigTIFF
  return null;
}

function isBmp(buf: Buffer): boolean {
  return buf.length >= 26 && startsWith(buf, 'BM') && BMP_HEADER_SIZES.has(buf.readUInt32LE(14));
}

function classifyFtyp(ftyp: { major: string; brands: string[] }): ImageFormat | null {
  const all = [ftyp.major, ...ftyp.brands];
  if (ftyp.major === 'crx ') return 'raw';
  if (HEIC_BRANDS.has(ftyp.major)) return 'heic';
  if (AVIF_BRANDS.has(ftyp.major)) return 'avif';
  if (!HEIF_GENERIC_BRANDS.has(ftyp.major)) return null; // MP4, QuickTime and other media
  if (all.some((b) => HEIC_BRANDS.has(b))) return 'heic';
  if (all.some((b) => AVIF_BRANDS.has(b))) return 'avif';
  return 'heic'; // a generic HEIF still: libheif decides what it holds
}

/** Which RAW container `buf` is, or null when it is not one. */
export function detectRawKind(buf: Buffer): RawKind | null {
  if (startsWith(buf, 'FUJIFILMCCD-RAW')) return 'RAF';
  if (startsWith(buf, '\0MRM')) return 'MRW';
  if (startsWith(buf, 'FOVb')) return 'X3F';
  if (startsWith(buf, 'II') && startsWith(buf, 'HEAPCCDR', 6)) return 'CRW';
  if (readFtyp(buf)?.major === 'crx ') return 'CR3';
  return classifyTiffRaw(buf);
}

/**
 * A TIFF-structured file is RAW when its header says so (CR2 signature, ORF and RW2 magic), it
 * has a DNGVersion tag, one of its images is sensor data (CFA or linear-raw photometric, or a
 * RAW-only compression), or it names a camera maker and carries a JPEG preview (JPEG offset tag
 * or old-style JPEG compression) in IFD0 or a SubIFD. Anything else is a plain TIFF.
 */
function classifyTiffRaw(buf: Buffer): RawKind | null {
  const reader = TiffReader.open(buf);
  if (!reader) return null;
  const magic = reader.magic;
  if (magic === 0x4f52 || magic === 0x5352) return 'ORF';
  if (magic === 0x55) return 'RW2';
  if (magic !== 42) return null;
  if (startsWith(buf, 'CR', 8) && buf[10] === 2) return 'CR2';

  const ifd0 = reader.readIfd(reader.firstIfdOffset);
  if (!ifd0) return null;
  if (ifd0.entries.has(TAG.DNG_VERSION)) return 'DNG';
  const make = reader.string(ifd0.entries.get(TAG.MAKE)) ?? '';
  const ifds = reader.collectIfds();
  const subIfds = reader
    .uints(ifd0.entries.get(TAG.SUB_IFDS), 16)
    .map((offset) => reader.readIfd(offset))
    .filter((ifd): ifd is Ifd => ifd !== null);

  const hasSensorData = ifds.some((ifd) => {
    const photometric = reader.uint(ifd.entries.get(TAG.PHOTOMETRIC));
    const compression = reader.uint(ifd.entries.get(TAG.COMPRESSION));
    return (
      (photometric !== null && RAW_PHOTOMETRIC.has(photometric)) ||
      (compression !== null && RAW_COMPRESSIONS.has(compression))
    );
  });
  const hasPreview = [ifd0, ...subIfds].some(
    (ifd) =>
      ifd.entries.has(TAG.JPEG_OFFSET) ||
      reader.uint(ifd.entries.get(TAG.COMPRESSION)) === OLD_JPEG_COMPRESSION,
  );
  if (!hasSensorData && !(make && hasPreview)) return null;
  return rawKindFromMake(make);
}

function rawKindFromMake(make: string): RawKind {
  const m = make.toUpperCase();
  if (m.startsWith('NIKON')) return 'NEF';
  if (m.startsWith('SONY')) return 'ARW';
  if (m.startsWith('PENTAX') || m.startsWith('RICOH') || m.startsWith('ASAHI')) return 'PEF';
  if (m.startsWith('SAMSUNG')) return 'SRW';
  if (m.startsWith('CANON')) return 'CR2';
  if (m.startsWith('OLYMPUS') || m.startsWith('OM DIGITAL')) return 'ORF';
  if (m.startsWith('PANASONIC') || m.startsWith('LEICA')) return 'RW2';
  return 'TIFF-RAW';
}

/**
 * A short phrase saying what a file that is not a supported image seems to be, for the problem
 * detail: a video, a PDF, an archive, text... or its first bytes in hex.
 */
export function describeUnknownContent(buf: Buffer): string {
  const ftyp = readFtyp(buf);
  if (ftyp) {
    const brand = ftyp.major.replace(/[^\x20-\x7e]/g, '?').trim();
    return `an ISO media file of brand '${brand}' (video or other media)`;
  }
  const known: [string, string][] = [
    ['%PDF', 'a PDF document'],
    ['PK\x03\x04', 'a ZIP archive'],
    ['8BPS', 'a Photoshop document (PSD)'],
    ['\xff\x0a', 'a JPEG XL image (not supported)'],
    ['\0\0\0\x0cJXL ', 'a JPEG XL image (not supported)'],
    ['\0\0\0\x0cjP  ', 'a JPEG 2000 image (not supported)'],
    ['ID3', 'an MP3 audio file'],
    ['RIFF', 'a RIFF media file (audio or video)'],
    ['<?xml', 'an XML or SVG document'],
    ['<svg', 'an SVG drawing (not a photo)'],
    ['\0\0\x01\0', 'a Windows icon (ICO)'],
  ];
  for (const [magic, what] of known) if (startsWith(buf, magic)) return what;
  const head = buf.subarray(0, Math.min(buf.length, 512));
  const printable = head.every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127));
  if (printable) return 'plain text';
  return `unrecognised bytes ${head.subarray(0, 8).toString('hex').replace(/(..)/g, '$1 ').trim()}`;
}
