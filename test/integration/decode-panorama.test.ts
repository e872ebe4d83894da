/**
 * Huge images: a real 23,000 x 30,000 panorama JPEG (generated here) is decoded through
 * shrink-on-load without holding its 690 MP in memory, while headers that claim huge sizes in a
 * few bytes are refused before any pixel is decoded.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { decodePhoto } from '../../src-main/engine/decode/decode';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'doppel-panorama-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A PNG whose IHDR claims width x height, followed by `idatBytes` of deflated noise. */
function pngClaiming(
  width: number,
  height: number,
  interlaced: boolean,
  idatBytes: number,
): Buffer {
  const chunk = (type: string, body: Buffer): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(body.length);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(Buffer.concat([head.subarray(4), body])) >>> 0);
    return Buffer.concat([head, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  ihdr[12] = interlaced ? 1 : 0;
  const noise = Buffer.alloc(idatBytes);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  return Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(noise, { level: 0 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('huge images', () => {
  it('embeds a 23,000 x 30,000 panorama JPEG of tens of MB through shrink-on-load', async () => {
    const file = path.join(tmp, 'panorama.jpg');
    const started = Date.now();
    // A smooth 1000 px tile repeated over the canvas: realistic entropy, fast to encode.
    const seed = await sharp({
      create: {
        width: 20,
        height: 20,
        channels: 3,
        noise: { type: 'gaussian', mean: 128, sigma: 50 },
        background: '#808080',
      },
    })
      .png()
      .toBuffer();
    const tile = await sharp(seed)
      .resize(1000, 1000, { kernel: 'cubic' })
      .png({ compressionLevel: 1 })
      .toBuffer();
    await sharp(tile, { limitInputPixels: false })
      .extend({ right: 22_000, bottom: 29_000, extendWith: 'repeat' })
      .jpeg({ quality: 70, optimiseCoding: false })
      .toFile(file);
    const generatedMs = Date.now() - started;
    const bytes = fs.readFileSync(file);
    expect(bytes.length).toBeGreaterThan(10_000_000);

    const rssBefore = process.memoryUsage().rss;
    const start = Date.now();
    const result = await decodePhoto(bytes, { size: 224, trimBorders: false });
    const decodeMs = Date.now() - start;
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    console.info(
      `panorama 23000x30000 JPEG, ${(bytes.length / 1e6).toFixed(1)} MB (generated in ${generatedMs} ms): ` +
        `decoded to 224 px in ${decodeMs} ms, RSS grew ${(rssGrowth / 1e6).toFixed(0)} MB`,
    );
    expect(result).toMatchObject({
      ok: true,
      meta: { format: 'jpeg', width: 23_000, height: 30_000 },
    });
    if (result.ok) expect(result.rgb.length).toBe(224 * 224 * 3);
    // A full decode would need 690 MP x 3 bytes = 2 GB.
    expect(rssGrowth).toBeLessThan(700_000_000);
  }, 120_000);

  it('refuses a PNG header claiming 30,000 x 30,000 pixels in a few KB as a decompression bomb', async () => {
    const bomb = pngClaiming(30_000, 30_000, false, 3000);
    expect(bomb.length).toBeLessThan(5000);
    const result = await decodePhoto(bomb, { size: 224, trimBorders: false });
    expect(result).toMatchObject({ ok: false, code: 'DECOMPRESSION_BOMB', format: 'png' });
    if (!result.ok) expect(result.detail).toContain('30000x30000');
  });

  it('caps an interlaced PNG lower, since libvips decodes it whole in memory', async () => {
    // 144 MP in 200 KB is 720 pixels per byte: not a bomb, but too big to hold whole.
    const big = pngClaiming(12_000, 12_000, true, 200_000);
    expect(await decodePhoto(big, { size: 224, trimBorders: false })).toMatchObject({
      ok: false,
      code: 'TOO_LARGE_IN_MEMORY',
    });
    const sequential = pngClaiming(12_000, 12_000, false, 200_000);
    const streamed = await decodePhoto(sequential, { size: 224, trimBorders: false });
    // Not refused for its size: it streams, and then fails on its (fake) pixel data.
    expect(streamed).toMatchObject({ ok: false, code: 'TRUNCATED' });
  });
});
