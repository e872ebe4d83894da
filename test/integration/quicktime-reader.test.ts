import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CONTENT_ID_KEY,
  readQuickTimeContentId,
} from '../../src-main/engine/decode/quicktime.reader';
import { buildQuickTimeMovie } from '../helpers/decode-fixtures';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'doppel-qt-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, bytes: Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

const ID = '6F3B5C2E-9A41-4D7B-B2C8-1E0F5A6D9C34';

describe('QuickTime content identifier', () => {
  it('reads the Live Photo content identifier from moov/meta, after the media data', () => {
    const movie = buildQuickTimeMovie({
      'com.apple.quicktime.make': 'Apple',
      [CONTENT_ID_KEY]: ID,
      'com.apple.quicktime.model': 'iPhone 15 Pro',
    });
    expect(readQuickTimeContentId(write('live.mov', movie))).toBe(ID);
  });

  it('reads it from a meta atom written as an ISO full box too', () => {
    const movie = buildQuickTimeMovie({ [CONTENT_ID_KEY]: ID }, { isoMeta: true });
    expect(readQuickTimeContentId(write('iso.mov', movie))).toBe(ID);
  });

  it('returns null for a movie without the key, a truncated movie and a file that is no movie', () => {
    const plain = buildQuickTimeMovie({ 'com.apple.quicktime.make': 'Apple' });
    expect(readQuickTimeContentId(write('plain.mov', plain))).toBeNull();
    const full = buildQuickTimeMovie({ [CONTENT_ID_KEY]: ID });
    expect(readQuickTimeContentId(write('cut.mov', full.subarray(0, full.length - 30)))).toBeNull();
    expect(readQuickTimeContentId(write('text.mov', Buffer.from('not a movie at all')))).toBeNull();
    expect(readQuickTimeContentId(path.join(dir, 'missing.mov'))).toBeNull();
    // A folder named like a movie opens but cannot be read: no identifier, no exception.
    fs.mkdirSync(path.join(dir, 'folder.mov'));
    expect(readQuickTimeContentId(path.join(dir, 'folder.mov'))).toBeNull();
  });
});
