/**
 * Turns the bytes of one photo file into the network's input square and the metadata the cache
 * stores. The content decides the decoder (a JPEG named .HEIC is a JPEG); every bad input ends
 * as a ProblemCode value, never as an exception.
 */
import sharp from 'sharp';
import { missingCase, type ProblemCode } from '../../contract/errors';
import type { ImageFormat } from '../../contract/types';
import { readFtyp, readHeifColour } from './bmff.reader';
import { BmpError, decodeBmpPixels, embeddedStream, readBmpHeader } from './bmp.decoder';
import {
  NO_EXIF,
  readTagBlocks,
  summarizeTagBlocks,
  type ExifSummary,
  type TagBlocks,
} from './exif.reader';
import { inspectContainer, isLosslessWebp } from './container.checker';
import { HeifDecodeError, openHeifPrimary } from './heif.decoder';
import type { JpegStream } from './jpeg.scanner';
import { checkDeclaredSize } from './limits';
import {
  builtInDisplayP3,
  encodePngWithIcc,
  orientSquare,
  renderSquare,
  SHARP_INPUT,
  TRIM_WORK_SIDE,
} from './pixels';
import { readRawInfo, type RawInfo } from './raw-preview.reader';
import { describeUnknownContent, detectRawKind, sniffFormat } from './sniff';

/** Re-exported: the image type of a buffer by its magic bytes (see sniff.ts). */
export { sniffFormat } from './sniff';

/** How to render the network input. */
export interface DecodeOptions {
  /** Side of the square output in pixels. */
  size: number;
  /** Remove uniform borders (letterbox, mat) before stretching to the square. */
  trimBorders: boolean;
}

/** What the decoder learns about a photo besides its pixels. */
export interface PhotoMeta {
  /** Detected from the bytes. */
  format: ImageFormat;
  /**
   * Size as displayed, after EXIF orientation (HEIF: after irot/imir). For RAW, the sensor size
   * from the file's metadata (swapped for orientations 5-8), not the preview's.
   */
  width: number;
  height: number;
  /** ISO 8601 local time from EXIF DateTimeOriginal (or CreateDate), with zone if recorded. */
  takenAt: string | null;
  /** "Make Model" (the model alone when it already names the maker). */
  camera: string | null;
  /** EXIF orientation 1..8 when the file has one. */
  orientation: number | null;
  /** Apple burst UUID (maker note or XMP), else null. */
  burstId: string | null;
  /** Apple ContentIdentifier pairing a Live Photo's still and video, else null. */
  contentId: string | null;
  hasExif: boolean;
  /** Descriptive tags in IFD0, EXIF and GPS (layout tags such as strip offsets not counted). */
  exifFieldCount: number;
}

/**
 * A decoded photo: `rgb` is `size * size * 3` bytes, sRGB, upright, alpha flattened on white,
 * stretched to the square after the optional border trim. Or a problem with a one-line detail.
 */
export type DecodeResult =
  | { ok: true; meta: PhotoMeta; rgb: Buffer }
  | { ok: false; code: ProblemCode; detail: string; format: ImageFormat | null };

type Failure = Extract<DecodeResult, { ok: false }>;

/** Previews smaller than this on their short side are placeholders, not pictures. */
export const MIN_PREVIEW_SIDE = 100;
/** Largest square side accepted in DecodeOptions. */
const MAX_SIZE = 4096;

const FORMAT_LABEL: Record<ImageFormat, string> = {
  jpeg: 'JPEG',
  png: 'PNG',
  webp: 'WebP',
  avif: 'AVIF',
  heic: 'HEIC/HEIF',
  gif: 'GIF',
  tiff: 'TIFF',
  bmp: 'BMP',
  raw: 'RAW',
};

function failure(code: ProblemCode, detail: string, format: ImageFormat | null): Failure {
  return { ok: false, code, detail, format };
}

/**
 * Decodes one photo file held in `buf`. Resolves with the pixels and metadata, or with the
 * problem that stopped it; it rejects only for invalid `opts` (a RangeError), never for bad
 * file content.
 */
export async function decodePhoto(buf: Buffer, opts: DecodeOptions): Promise<DecodeResult> {
  if (!Number.isInteger(opts.size) || opts.size < 1 || opts.size > MAX_SIZE) {
    throw new RangeError(`DecodeOptions.size must be an integer 1..${MAX_SIZE}, got ${opts.size}`);
  }
  if (buf.length === 0) return failure('EMPTY_FILE', 'the file is 0 bytes long', null);
  const format = sniffFormat(buf);
  if (!format) {
    return failure('UNKNOWN_FORMAT', `the content is ${describeUnknownContent(buf)}`, null);
  }
  try {
    switch (format) {
      case 'raw':
        return await decodeRaw(buf, opts);
      case 'heic':
        return await decodeHeic(buf, opts);
      case 'bmp':
        return await decodeBmp(buf, opts);
      case 'jpeg':
      case 'png':
      case 'webp':
      case 'avif':
      case 'gif':
      case 'tiff':
        return await decodeWithSharp(buf, format, opts);
      default:
        return missingCase(format);
    }
  } catch (err) {
    // Every decoder turns expected failures into values; this is the net for the unexpected.
    return failure('TRUNCATED', `${FORMAT_LABEL[format]}: ${errorLine(err)}`, format);
  }
}

/** The first line of an error's message, without sharp's generic prefixes. */
function errorLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const line = (text.split('\n').find((l) => l.trim()) ?? '')
    .replace(/^Input buffer has corrupt header:\s*/i, '')
    .replace(
      /^Input buffer contains unsupported image format$/i,
      'the file structure cannot be read',
    )
    .replace(/[^\x20-\x7e\u00a0-\uffff]/g, '?')
    .trim();
  return (line || 'the header cannot be parsed').slice(0, 200);
}

/**
 * The problem for a sharp failure at `stage`: the file's own structure decides between cut
 * short and malformed where it can; otherwise libvips' message is classified.
 */
function sharpFailure(
  err: unknown,
  stage: 'header' | 'pixels',
  buf: Buffer,
  format: ImageFormat,
  reportAs: ImageFormat,
): Failure {
  const label = FORMAT_LABEL[format];
  const code = classifySharpError(err, stage);
  if (code === 'TOO_LARGE' || code === 'UNSUPPORTED_VARIANT') {
    return failure(code, `${label}: ${errorLine(err)}`, reportAs);
  }
  const damage = inspectContainer(buf, format);
  if (damage?.kind === 'cut') return failure('TRUNCATED', `${label}: ${damage.detail}`, reportAs);
  if (damage) {
    return failure(
      stage === 'header' ? 'CORRUPT_HEADER' : 'TRUNCATED',
      `${label}: ${damage.detail}`,
      reportAs,
    );
  }
  return failure(code, `${label}: ${errorLine(err)}`, reportAs);
}

/** Sorts a sharp/libvips error into a problem code. `stage` says whether pixels were being read. */
function classifySharpError(err: unknown, stage: 'header' | 'pixels'): ProblemCode {
  const text = err instanceof Error ? err.message : String(err);
  if (/exceeds pixel limit/i.test(text)) return 'TOO_LARGE';
  if (/not configured|not supported|unsupported (compression|bit depth|feature)/i.test(text)) {
    return 'UNSUPPORTED_VARIANT';
  }
  if (
    /premature end|truncated|unexpected end|end of (stream|file|data)|out of data|read error|short read/i.test(
      text,
    )
  ) {
    return 'TRUNCATED';
  }
  return stage === 'header' ? 'CORRUPT_HEADER' : 'TRUNCATED';
}

function success(
  format: ImageFormat,
  width: number,
  height: number,
  exif: ExifSummary,
  rgb: Buffer,
): DecodeResult {
  return { ok: true, meta: { format, width, height, ...exif }, rgb };
}

/** Formats whose libvips loader holds the whole image (or its coefficients) in memory. */
function decodesWhole(buf: Buffer, format: ImageFormat, header: sharp.Metadata): boolean {
  if (format === 'gif' || format === 'avif' || format === 'heic') return true;
  if (format === 'webp') return isLosslessWebp(buf);
  return (format === 'jpeg' || format === 'png') && header.isProgressive === true;
}

/** EXIF from exifr on the file, else from the EXIF block sharp found (WebP's EXIF chunk). */
async function readExif(
  input: Buffer,
  header: sharp.Metadata | null,
  alreadyRead?: TagBlocks | null,
): Promise<ExifSummary> {
  let blocks = alreadyRead === undefined ? await readTagBlocks(input) : alreadyRead;
  if (!blocks?.ifd0 && header?.exif && header.exif.length > 8) {
    const exif = header.exif;
    const tiff = exif.toString('latin1', 0, 6) === 'Exif\0\0' ? exif.subarray(6) : exif;
    blocks = (await readTagBlocks(tiff)) ?? blocks;
  }
  return summarizeTagBlocks(blocks);
}

/**
 * HEIC metadata: exifr first; when it cannot place the Exif item (it misreads some iloc
 * layouts, such as heif-enc's), libvips' HEIF header parse supplies the EXIF block.
 */
async function readHeifExif(buf: Buffer): Promise<ExifSummary> {
  const blocks = await readTagBlocks(buf);
  if (blocks?.ifd0) return summarizeTagBlocks(blocks);
  const header = await sharp(buf, { limitInputPixels: false })
    .metadata()
    .catch(() => null);
  return readExif(buf, header, blocks);
}

/** Header read by sharp without decoding pixels; AVIF sequences get a still-image brand first. */
async function readSharpHeader(
  input: Buffer,
  format: ImageFormat,
): Promise<{ input: Buffer; header: sharp.Metadata } | Failure> {
  try {
    return { input, header: await sharp(input, { limitInputPixels: false }).metadata() };
  } catch (err) {
    const ftyp = readFtyp(input);
    if (format === 'avif' && ftyp && ftyp.major !== 'avif') {
      // libvips only opens 'avif'-branded files; an AVIF sequence ('avis') also holds a primary
      // still item, which a relabelled copy exposes.
      const still = Buffer.from(input);
      still.write('avif', 8, 'latin1');
      try {
        return { input: still, header: await sharp(still, { limitInputPixels: false }).metadata() };
      } catch {
        // fall through to the original error
      }
    }
    return sharpFailure(err, 'header', input, format, format);
  }
}

/** JPEG, PNG, WebP, AVIF, GIF (first frame), TIFF (first page): all through sharp. */
async function decodeWithSharp(
  buf: Buffer,
  format: ImageFormat,
  opts: DecodeOptions,
  reportAs: ImageFormat = format,
): Promise<DecodeResult> {
  const read = await readSharpHeader(buf, format);
  if ('ok' in read) return { ...read, format: reportAs };
  const { input, header } = read;
  const limit = checkDeclaredSize(
    header.width,
    header.height,
    buf.length,
    decodesWhole(input, format, header),
  );
  if (limit) return failure(limit.code, `${FORMAT_LABEL[format]} ${limit.detail}`, reportAs);

  const render = (bytes: Buffer): Promise<Buffer> =>
    renderSquare(sharp(bytes, { ...SHARP_INPUT, autoOrient: true }), opts.size, opts.trimBorders);
  let rgb: Buffer;
  const exif = readExif(input, header);
  try {
    rgb = await render(input);
  } catch (err) {
    const code = classifySharpError(err, 'pixels');
    const retry =
      code === 'TRUNCATED' && format === 'jpeg' ? await renderWithEoi(input, header, render) : null;
    if (!retry) return sharpFailure(err, 'pixels', input, format, reportAs);
    rgb = retry;
  }
  const width = header.autoOrient?.width ?? header.width;
  const height = header.autoOrient?.height ?? header.height;
  return success(reportAs, width, height, reportAs === 'bmp' ? NO_EXIF : await exif, rgb);
}

/**
 * A JPEG whose only flaw is a missing end-of-image marker (every scan complete) decodes cleanly
 * once the marker is added. One cut inside its data then hits the marker early, which libjpeg
 * reports only as a warning, and only when decoding at full scale: so the completed file is
 * first checked at full scale, failing on any warning, then rendered. Null when it still fails.
 */
async function renderWithEoi(
  input: Buffer,
  header: sharp.Metadata,
  render: (bytes: Buffer) => Promise<Buffer>,
): Promise<Buffer | null> {
  const n = input.length;
  if (n >= 2 && input[n - 2] === 0xff && input[n - 1] === 0xd9) return null;
  const completed = Buffer.concat([input, Buffer.from([0xff, 0xd9])]);
  try {
    // A pre-resize extract keeps sharp from shrinking on load, so every coefficient is decoded.
    await sharp(completed, { ...SHARP_INPUT, failOn: 'warning' })
      .extract({ left: 0, top: 0, width: header.width, height: header.height })
      .resize(8, 8, { fit: 'fill' })
      .raw()
      .toBuffer();
    return await render(completed);
  } catch {
    return null;
  }
}

/**
 * HEIC/HEIF through libheif (WebAssembly): the primary item, with its clean aperture, irot and
 * imir applied by libheif, colour-managed through its ICC profile or nclx primaries.
 * HEIF's EXIF Orientation is informative only (ISO/IEC 23008-12): as libheif and libvips do, it
 * is reported in meta.orientation but not applied on top of irot/imir.
 */
async function decodeHeic(buf: Buffer, opts: DecodeOptions): Promise<DecodeResult> {
  // libheif decodes a cut-short file without complaint, filling the missing tiles.
  const damage = inspectContainer(buf, 'heic');
  if (damage?.kind === 'cut') return failure('TRUNCATED', `HEIC/HEIF: ${damage.detail}`, 'heic');
  let primary;
  try {
    primary = await openHeifPrimary(buf);
  } catch (err) {
    return failure('HEIC_DECODE_FAILED', `libheif: ${errorLine(err)}`, 'heic');
  }
  try {
    const limit = checkDeclaredSize(primary.width, primary.height, buf.length, true);
    if (limit) return failure(limit.code, `HEIC/HEIF ${limit.detail}`, 'heic');
    const exif = readHeifExif(buf);
    let decoded;
    try {
      decoded = await primary.decodeRgba();
    } catch (err) {
      if (
        err instanceof HeifDecodeError &&
        /not been built in|no matching decoder/i.test(err.message)
      ) {
        // Not HEVC (an AV1 or JPEG item in a generic HEIF file): libvips may know the codec.
        return await decodeWithSharp(buf, 'avif', opts, 'heic');
      }
      return failure('HEIC_DECODE_FAILED', `libheif: ${errorLine(err)}`, 'heic');
    }
    const rgb = await renderHeifPixels(buf, decoded, primary.premultipliedAlpha, opts);
    return success('heic', primary.width, primary.height, await exif, rgb);
  } finally {
    primary.close();
  }
}

/**
 * Runs libheif's RGBA through the common pipeline. With an ICC profile (or Display P3 nclx),
 * the pixels are first shrunk, then wrapped in a PNG carrying the profile so that sharp converts
 * them to sRGB through it.
 * Limitation: nclx colour other than sRGB/BT.709 and Display P3 (BT.2020, PQ and HLG HDR) is
 * shown as if it were sRGB: such photos come out desaturated, identically for every copy.
 */
async function renderHeifPixels(
  buf: Buffer,
  decoded: { data: Buffer; width: number; height: number },
  premultiplied: boolean,
  opts: DecodeOptions,
): Promise<Buffer> {
  const raw = { width: decoded.width, height: decoded.height, channels: 4 as const, premultiplied };
  const img = sharp(decoded.data, { raw, limitInputPixels: false });
  const colour = readHeifColour(buf);
  const icc =
    colour?.kind === 'icc'
      ? colour.icc
      : colour?.kind === 'nclx' && (colour.primaries === 11 || colour.primaries === 12)
        ? await builtInDisplayP3()
        : null;
  if (!icc) return renderSquare(img, opts.size, opts.trimBorders);
  const shrunk = opts.trimBorders
    ? img.resize(TRIM_WORK_SIDE, TRIM_WORK_SIDE, { fit: 'inside', withoutEnlargement: true })
    : img.resize(opts.size, opts.size, { fit: 'fill' });
  const small = await shrunk.raw().toBuffer({ resolveWithObject: true });
  const png = encodePngWithIcc(small.data, small.info.width, small.info.height, icc);
  return renderSquare(sharp(png), opts.size, opts.trimBorders);
}

/** BMP through our own decoder (libvips has none); BMPs wrapping a JPEG/PNG go to sharp. */
async function decodeBmp(buf: Buffer, opts: DecodeOptions): Promise<DecodeResult> {
  try {
    const header = readBmpHeader(buf);
    const inner = embeddedStream(buf, header);
    const innerFormat = inner ? sniffFormat(inner) : null;
    if (inner && (innerFormat === 'jpeg' || innerFormat === 'png')) {
      return await decodeWithSharp(inner, innerFormat, opts, 'bmp');
    }
    if (inner) {
      return failure('CORRUPT_HEADER', 'BMP: the embedded JPEG/PNG stream is not one', 'bmp');
    }
    const limit = checkDeclaredSize(header.width, header.height, buf.length, true);
    if (limit) return failure(limit.code, `BMP ${limit.detail}`, 'bmp');
    const pixels = decodeBmpPixels(buf, header);
    const raw = { width: pixels.width, height: pixels.height, channels: pixels.channels };
    const rgb = await renderSquare(sharp(pixels.data, { raw }), opts.size, opts.trimBorders);
    return success('bmp', header.width, header.height, NO_EXIF, rgb);
  } catch (err) {
    if (err instanceof BmpError) return failure(err.code, `BMP: ${err.message}`, 'bmp');
    throw err;
  }
}

/**
 * RAW through its largest usable embedded JPEG preview, oriented by the RAW's own EXIF
 * orientation (the preview's own tag, if any, is ignored). Size reported is the sensor's.
 * Limitation: no demosaicing; a RAW whose only picture is a small EXIF thumbnail (160x120) is
 * compared at that resolution.
 */
async function decodeRaw(buf: Buffer, opts: DecodeOptions): Promise<DecodeResult> {
  const kind = detectRawKind(buf) ?? 'TIFF-RAW';
  const info = readRawInfo(buf, kind);
  const blocks = (info.exifSource ? await readTagBlocks(info.exifSource) : null) ?? info.tags;
  const exif = summarizeTagBlocks(blocks);
  const from = exif.camera ? `${kind} from ${exif.camera}` : `${kind} file`;

  const usable = info.previews.filter((p) => Math.min(p.width, p.height) >= MIN_PREVIEW_SIDE);
  let lastError = '';
  for (const preview of usable) {
    const bytes = buf.subarray(preview.start, preview.end);
    const limit = checkDeclaredSize(
      preview.width,
      preview.height,
      bytes.length,
      preview.sof === 0xc2,
    );
    if (limit) {
      lastError = `preview ${limit.detail}`;
      continue;
    }
    try {
      const square = await renderSquare(sharp(bytes, SHARP_INPUT), opts.size, opts.trimBorders);
      const rgb = orientSquare(square, opts.size, exif.orientation);
      const [width, height] = rawDisplaySize(info, preview, exif.orientation);
      return success('raw', width, height, exif, rgb);
    } catch (err) {
      lastError = `the ${preview.width}x${preview.height} preview is damaged (${errorLine(err)})`;
    }
  }
  return failure('RAW_NO_PREVIEW', `${from}: ${describeMissingPreview(info, lastError)}`, 'raw');
}

function describeMissingPreview(info: RawInfo, lastError: string): string {
  if (lastError) return lastError;
  const largest = info.previews[0];
  if (!largest) return 'no embedded JPEG preview found';
  return `largest embedded JPEG is ${largest.width}x${largest.height}, under the ${MIN_PREVIEW_SIDE} px minimum`;
}

/** Sensor size when known (else the preview's), swapped for orientations that turn the image. */
function rawDisplaySize(
  info: RawInfo,
  preview: JpegStream,
  orientation: number | null,
): [number, number] {
  const w = info.sensorWidth ?? preview.width;
  const h = info.sensorHeight ?? preview.height;
  return orientation !== null && orientation >= 5 ? [h, w] : [w, h];
}
