/**
 * Generates a small photo library at test time: families of copies (exact, resized, re-encoded),
 * unrelated photos and unreadable files. Pixels come from a seeded pattern, so runs repeat.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';

/** A width x height RGB picture of soft blobs, different for every seed. */
export function patternPixels(seed: number, width = 320, height = 240): Buffer {
  const buf = Buffer.alloc(width * height * 3);
  let s = seed * 9301 + 49297;
  const rand = (): number => (s = (s * 9301 + 49297) % 233280) / 233280;
  const blobs = Array.from({ length: 6 }, () => ({
    x: rand() * width,
    y: rand() * height,
    r: 30 + rand() * 90,
    c: [rand() * 255, rand() * 255, rand() * 255],
  }));
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const o = (y * width + x) * 3;
      let [r, g, b] = [(x / width) * 80, (y / height) * 80, 60];
      for (const blob of blobs) {
        const w = Math.max(0, 1 - Math.hypot(x - blob.x, y - blob.y) / blob.r);
        r += blob.c[0] * w;
        g += blob.c[1] * w;
        b += blob.c[2] * w;
      }
      buf[o] = Math.min(255, r);
      buf[o + 1] = Math.min(255, g);
      buf[o + 2] = Math.min(255, b);
    }
  }
  return buf;
}

export async function writeJpeg(
  file: string,
  seed: number,
  quality = 92,
  width = 320,
  height = 240,
): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp(patternPixels(seed, width, height), { raw: { width, height, channels: 3 } })
    .jpeg({ quality })
    .toFile(file);
}

export interface GeneratedLibrary {
  root: string;
  /** The photo whose family has an exact copy and two distinct near copies. */
  original: string;
  exactCopy: string;
  nearCopies: string[];
  unreadable: string[];
}

/** Writes the review library used by the browser end-to-end test. */
export async function writeReviewLibrary(root: string): Promise<GeneratedLibrary> {
  const original = path.join(root, 'trip', 'beach.jpg');
  await writeJpeg(original, 1);
  const exactCopy = path.join(root, 'backup', 'beach.jpg');
  fs.mkdirSync(path.dirname(exactCopy), { recursive: true });
  fs.copyFileSync(original, exactCopy);
  const small = path.join(root, 'trip', 'beach-small.jpg');
  await sharp(original).resize(160).jpeg({ quality: 90 }).toFile(small);
  const resaved = path.join(root, 'trip', 'beach-resaved.jpg');
  await sharp(original).jpeg({ quality: 55 }).toFile(resaved);
  for (const seed of [2, 3, 4])
    await writeJpeg(path.join(root, 'other', `photo-${seed}.jpg`), seed * 101);
  const bad = path.join(root, 'bad');
  fs.mkdirSync(bad, { recursive: true });
  fs.writeFileSync(path.join(bad, 'empty.jpg'), Buffer.alloc(0));
  const bytes = fs.readFileSync(original);
  fs.writeFileSync(path.join(bad, 'cut.jpg'), bytes.subarray(0, Math.floor(bytes.length / 3)));
  return {
    root,
    original,
    exactCopy,
    nearCopies: [small, resaved],
    unreadable: [path.join(bad, 'empty.jpg'), path.join(bad, 'cut.jpg')],
  };
}
