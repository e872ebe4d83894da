/**
 * The sharp pipelines that turn any decodable input into the network's square: sRGB, 8-bit,
 * alpha flattened on white, stretched to size x size, with optional border trimming.
 */
import zlib from 'node:zlib';
import sharp from 'sharp';
import { MAX_PIXELS } from './limits';

/** Options every sharp decode of file bytes shares. */
export const SHARP_INPUT: sharp.SharpOptions = {
  // Report cut-short data instead of showing grey fill; tolerate libjpeg's benign warnings
  // ("extraneous bytes before marker") that 'warning' would turn into failures.
  failOn: 'truncated',
  // Our own checks ran on the header first (limits.ts); this only keeps sharp's guard in place.
  limitInputPixels: MAX_PIXELS,
  sequentialRead: true,
  pages: 1,
  page: 0,
};

const WHITE = { r: 255, g: 255, b: 255 };
/** Side of the intermediate image that border trimming works on. */
export const TRIM_WORK_SIDE = 512;
/** Colour distance (sharp's trim threshold) under which a pixel counts as border. */
const TRIM_THRESHOLD = 12;
/** A "border" leaving less than this share of the area is the picture itself: keep it all. */
const TRIM_MIN_KEPT_AREA = 0.2;

/**
 * Renders `img` (orientation already set up by the caller) as `size * size * 3` bytes of sRGB.
 * Without trimming this is one pipeline, so sharp can shrink JPEG and WebP on load.
 * Rejects with sharp's error when the pixels cannot be decoded.
 */
export async function renderSquare(
  img: sharp.Sharp,
  size: number,
  trimBorders: boolean,
): Promise<Buffer> {
  if (!trimBorders) {
    const { data, info } = await toSrgb(img.resize(size, size, { fit: 'fill' }))
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    return checkSquare(data, info, size);
  }
  // sharp disables shrink-on-load when it trims, so trim a small intermediate instead.
  const work = await toSrgb(
    img.resize(TRIM_WORK_SIDE, TRIM_WORK_SIDE, { fit: 'inside', withoutEnlargement: true }),
  )
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const raw = { width: work.info.width, height: work.info.height, channels: 3 as const };
  const trimmed = await sharp(work.data, { raw })
    .trim({ threshold: TRIM_THRESHOLD })
    .raw()
    .toBuffer({ resolveWithObject: true })
    .catch(() => null);
  const keptArea = trimmed
    ? (trimmed.info.width * trimmed.info.height) / (raw.width * raw.height)
    : 0;
  const source =
    trimmed && keptArea >= TRIM_MIN_KEPT_AREA
      ? sharp(trimmed.data, {
          raw: { width: trimmed.info.width, height: trimmed.info.height, channels: 3 },
        })
      : sharp(work.data, { raw });
  const { data, info } = await source
    .resize(size, size, { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return checkSquare(data, info, size);
}

/** Colour-manages to sRGB (through any embedded profile), 8-bit, alpha flattened on white. */
function toSrgb(img: sharp.Sharp): sharp.Sharp {
  return img.flatten({ background: WHITE }).toColourspace('srgb').removeAlpha();
}

function checkSquare(data: Buffer, info: sharp.OutputInfo, size: number): Buffer {
  if (info.width !== size || info.height !== size || info.channels !== 3) {
    throw new Error(
      `decoder produced ${info.width}x${info.height}x${info.channels}, expected ${size}x${size}x3`,
    );
  }
  return data;
}

/**
 * Applies EXIF orientation `orientation` (1..8) to a square RGB image. Stretching to a square
 * commutes with these rotations and flips, so orienting after the resize equals orienting first.
 */
export function orientSquare(rgb: Buffer, size: number, orientation: number | null): Buffer {
  if (!orientation || orientation === 1) return rgb;
  const out = Buffer.allocUnsafe(rgb.length);
  const last = size - 1;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let sx = x;
      let sy = y;
      switch (orientation) {
        case 2: // mirror horizontal
          sx = last - x;
          break;
        case 3: // rotate 180
          sx = last - x;
          sy = last - y;
          break;
        case 4: // mirror vertical
          sy = last - y;
          break;
        case 5: // transpose
          sx = y;
          sy = x;
          break;
        case 6: // rotate 90 clockwise
          sx = y;
          sy = last - x;
          break;
        case 7: // transverse
          sx = last - y;
          sy = last - x;
          break;
        case 8: // rotate 90 anticlockwise
          sx = last - y;
          sy = x;
          break;
        default:
          return rgb;
      }
      const from = (sy * size + sx) * 3;
      const to = (y * size + x) * 3;
      out[to] = rgb[from];
      out[to + 1] = rgb[from + 1];
      out[to + 2] = rgb[from + 2];
    }
  }
  return out;
}

/**
 * Wraps raw 8-bit RGBA pixels in a minimal PNG carrying `icc`, so that sharp colour-manages them
 * through that profile (sharp has no way to attach an input profile to raw pixels).
 */
export function encodePngWithIcc(rgba: Buffer, width: number, height: number, icc: Buffer): Buffer {
  const chunk = (type: string, body: Buffer): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(body.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(Buffer.concat([head.subarray(4), body])) >>> 0, 0);
    return Buffer.concat([head, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const rows = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) {
    rgba.copy(rows, y * (width * 4 + 1) + 1, y * width * 4, (y + 1) * width * 4);
  }
  const iccp = Buffer.concat([Buffer.from('icc\0\0', 'latin1'), zlib.deflateSync(icc)]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('iCCP', iccp),
    chunk('IDAT', zlib.deflateSync(rows, { level: 1 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

let displayP3Profile: Promise<Buffer | null> | null = null;

/** libvips' built-in Display P3 ICC profile, for HEIF files that signal P3 by nclx code points. */
export function builtInDisplayP3(): Promise<Buffer | null> {
  displayP3Profile ??= sharp({ create: { width: 1, height: 1, channels: 3, background: WHITE } })
    .withIccProfile('p3')
    .png()
    .toBuffer()
    .then(async (png) => (await sharp(png).metadata()).icc ?? null)
    .catch(() => null);
  return displayP3Profile;
}
