/**
 * Turns decoded square RGB pixels into the network's input tensor. Pure: no Node imports.
 */

/**
 * Packs `rgbs` (each `size * size * 3` interleaved RGB bytes) into one NCHW float32 tensor of
 * `rgbs.length * 3 * size * size` values, each `(v / 255 - mean[c]) / std[c]`.
 * Throws a RangeError when a buffer has the wrong length or a std is zero.
 */
export function toInputTensor(
  rgbs: readonly Uint8Array[],
  size: number,
  mean: readonly [number, number, number],
  std: readonly [number, number, number],
): Float32Array {
  const plane = size * size;
  const lut = normalisationTable(mean, std);
  const out = new Float32Array(rgbs.length * 3 * plane);

  rgbs.forEach((rgb, n) => {
    if (rgb.length !== plane * 3) {
      throw new RangeError(
        `Input ${n} has ${rgb.length} bytes; a ${size}x${size} RGB image has ${plane * 3}.`,
      );
    }
    const r = n * 3 * plane;
    const g = r + plane;
    const b = g + plane;
    for (let i = 0, j = 0; i < plane; i++, j += 3) {
      out[r + i] = lut[rgb[j]];
      out[g + i] = lut[256 + rgb[j + 1]];
      out[b + i] = lut[512 + rgb[j + 2]];
    }
  });
  return out;
}

/** 3 x 256 normalised values, one row per channel: a lookup beats a divide per pixel. */
function normalisationTable(
  mean: readonly [number, number, number],
  std: readonly [number, number, number],
): Float32Array {
  const lut = new Float32Array(768);
  for (let c = 0; c < 3; c++) {
    if (!(std[c] !== 0 && Number.isFinite(std[c]))) {
      throw new RangeError(`Channel ${c} std is ${std[c]}; it must be a non-zero number.`);
    }
    for (let v = 0; v < 256; v++) lut[c * 256 + v] = (v / 255 - mean[c]) / std[c];
  }
  return lut;
}
