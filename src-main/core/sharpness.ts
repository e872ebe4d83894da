/**
 * A photo's sharpness for the keep rule: the variance of the 4-neighbour Laplacian of its luma,
 * measured on the square network input every copy is decoded to (so copies of different sizes are
 * compared at one scale). Blur and heavy compression lower it; a flat image scores 0.
 *
 * Limitation: at the input's 160-224 px, a slight blur of a large original is invisible; the
 * measure tells apart copies whose difference survives downscaling (re-saved thumbnails, blurred
 * or heavily compressed copies), which is what it is used for, after resolution and file size.
 */
export function sharpnessOf(rgb: Uint8Array, size: number): number {
  if (rgb.length !== size * size * 3) {
    throw new RangeError(`sharpnessOf got ${rgb.length} bytes for a ${size} x ${size} RGB image.`);
  }
  if (size < 3) return 0;
  const luma = new Float32Array(size * size);
  for (let i = 0; i < luma.length; i++) {
    luma[i] = 0.299 * rgb[3 * i] + 0.587 * rgb[3 * i + 1] + 0.114 * rgb[3 * i + 2];
  }
  let sum = 0;
  let sumSq = 0;
  let n = 0;
  for (let y = 1; y < size - 1; y++) {
    for (let x = 1; x < size - 1; x++) {
      const i = y * size + x;
      const l = luma[i - 1] + luma[i + 1] + luma[i - size] + luma[i + size] - 4 * luma[i];
      sum += l;
      sumSq += l * l;
      n++;
    }
  }
  const mean = sum / n;
  return Math.max(0, sumSq / n - mean * mean);
}
