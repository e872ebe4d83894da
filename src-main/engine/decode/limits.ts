/**
 * The size rules applied to a header before any pixel is decoded: an absolute cap, a cap for
 * decoders that hold the whole image in memory, and the decompression-bomb rule.
 */
import type { ProblemCode } from '../../contract/errors';

/** No image above this many pixels (about a gigapixel) is decoded, whatever its file size. */
export const MAX_PIXELS = 1_000_000_000;

/**
 * Pixels a header may declare per byte of file. Real photos need 0.1 to 2 bytes a pixel (a
 * 23,000 x 30,000 panorama JPEG of 35 MB is 20 px/byte). The densest legitimate encodings stay
 * below this: a baseline JPEG cannot go under 2 bits per 8x8 block (256 px/byte), and deflate
 * tops out near 1032:1, so an 8-bit RGB PNG of one flat colour is at most ~344 px/byte. A PNG
 * header claiming 30,000 x 30,000 pixels in a few kilobytes is ~300,000 px/byte.
 * Limitation: a huge 1-bit or greyscale image of almost no content (a blank scan, flat line art)
 * can pass 1,000 px/byte legitimately; above BOMB_MIN_PIXELS it is refused as a bomb.
 */
export const MAX_PIXELS_PER_BYTE = 1_000;

/** Below this many pixels the bomb ratio is not applied: decoding costs little memory anyway. */
export const BOMB_MIN_PIXELS = 64_000_000;

/**
 * Cap for decoders that hold the whole image (or all its DCT coefficients) in memory instead of
 * streaming rows: progressive JPEG (~3-6 bytes a pixel of coefficients), interlaced PNG, GIF,
 * HEIC/AVIF, BMP. At 4 bytes a pixel this is 400 MB; three decodes run at once during a scan.
 */
export const IN_MEMORY_MAX_PIXELS = 100_000_000;

/** A refusal: which problem, and a one-line detail with the numbers. */
export interface LimitFailure {
  code: ProblemCode;
  detail: string;
}

function megapixels(pixels: number): string {
  return `${(pixels / 1e6).toFixed(pixels < 10e6 ? 1 : 0)} MP`;
}

/**
 * Checks a declared `width` x `height` against the caps, given the file size and whether the
 * decoder must hold the whole image in memory. Returns null when decoding may go ahead.
 */
export function checkDeclaredSize(
  width: number,
  height: number,
  fileBytes: number,
  holdsWholeImage: boolean,
): LimitFailure | null {
  const pixels = width * height;
  const size = `${width}x${height} (${megapixels(pixels)})`;
  if (pixels > MAX_PIXELS) {
    return {
      code: 'TOO_LARGE',
      detail: `declares ${size}, over the ${megapixels(MAX_PIXELS)} limit`,
    };
  }
  const perByte = pixels / Math.max(1, fileBytes);
  if (pixels >= BOMB_MIN_PIXELS && perByte > MAX_PIXELS_PER_BYTE) {
    return {
      code: 'DECOMPRESSION_BOMB',
      detail: `declares ${size} in ${fileBytes} bytes (${Math.round(perByte)} pixels per byte; at most ${MAX_PIXELS_PER_BYTE} accepted)`,
    };
  }
  if (holdsWholeImage && pixels > IN_MEMORY_MAX_PIXELS) {
    return {
      code: 'TOO_LARGE_IN_MEMORY',
      detail: `declares ${size}; this encoding is decoded whole in memory, limit ${megapixels(IN_MEMORY_MAX_PIXELS)}`,
    };
  }
  return null;
}
