/**
 * Geometric views of a square RGB image (mirror and right-angle rotations), so a flipped or
 * rotated copy of a photo can be matched. Pure: no Node imports.
 */
import { missingCase } from '../contract/errors';
import type { ViewName } from './model-card';

/**
 * The `view` of a square `size x size` interleaved RGB image. `mirror` flips left-right;
 * `rot90`, `rot180` and `rot270` turn the picture clockwise by that angle. `identity` returns
 * `rgb` itself when it is a Buffer (not a copy); every other view returns a new buffer.
 * Throws a RangeError when `rgb` is not `size * size * 3` bytes.
 */
export function viewOf(rgb: Uint8Array, size: number, view: ViewName): Buffer {
  if (rgb.length !== size * size * 3) {
    throw new RangeError(
      `View input has ${rgb.length} bytes; a ${size}x${size} RGB image has ${size * size * 3}.`,
    );
  }
  if (view === 'identity') return Buffer.isBuffer(rgb) ? rgb : Buffer.from(rgb);

  const source = sourceIndex(view, size);
  const out = Buffer.allocUnsafe(rgb.length);
  let o = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const s = source(x, y) * 3;
      out[o++] = rgb[s];
      out[o++] = rgb[s + 1];
      out[o++] = rgb[s + 2];
    }
  }
  return out;
}

type PixelSource = (x: number, y: number) => number;

/** For output pixel (x, y), the index of the input pixel it shows. */
function sourceIndex(view: Exclude<ViewName, 'identity'>, size: number): PixelSource {
  const last = size - 1;
  switch (view) {
    case 'mirror':
      return (x, y) => y * size + (last - x);
    case 'rot90':
      // Clockwise: the output's top row is the input's left column read bottom to top.
      return (x, y) => (last - x) * size + y;
    case 'rot180':
      return (x, y) => (last - y) * size + (last - x);
    case 'rot270':
      return (x, y) => x * size + (last - y);
    default:
      return missingCase(view);
  }
}
