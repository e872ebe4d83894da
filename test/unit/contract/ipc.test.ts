import { describe, expect, it } from 'vitest';
import {
  CHANNELS,
  CONTRACT,
  describeSimilarity,
  isChannel,
  parseRequest,
} from '../../../src-main/contract/ipc';

describe('the IPC/HTTP contract', () => {
  it('names every channel app:domain:action in kebab-case', () => {
    expect(CHANNELS.length).toBeGreaterThan(20);
    for (const channel of CHANNELS)
      expect(channel).toMatch(/^app:[a-z]+(-[a-z]+)*:[a-z]+(-[a-z]+)*$/);
  });

  it('knows its own channels and nothing else, prototype keys included', () => {
    expect(isChannel('app:library:get')).toBe(true);
    expect(isChannel('app:library:nuke')).toBe(false);
    expect(isChannel('constructor')).toBe(false);
    expect(isChannel('__proto__')).toBe(false);
    expect(isChannel(42)).toBe(false);
  });

  it('refuses unknown keys, wrong types and NUL bytes, naming the field', () => {
    expect(parseRequest('app:library:get', { extra: 1 })).toMatchObject({ ok: false });
    const wrong = parseRequest('app:groups:get', { groupId: -3 });
    expect(wrong.ok).toBe(false);
    expect(!wrong.ok && wrong.reason).toMatch(/^groupId: /);
    expect(parseRequest('app:library:add-folder', { path: '/a\0b' }).ok).toBe(false);
    expect(parseRequest('app:groups:regroup', { nearDuplicate: 0.9, similar: 0.5 }).ok).toBe(false);
    expect(parseRequest('app:labels:add', { query: 1, better: 1, worse: 2 }).ok).toBe(false);
  });

  it('refuses relative folder paths and accepts absolute ones of every platform', () => {
    for (const p of ['relative/dir', '.', 'lib', '~/Pictures', 'C:relative']) {
      const r = parseRequest('app:library:add-folder', { path: p });
      expect(r.ok, p).toBe(false);
      expect(!r.ok && r.reason, p).toMatch(/absolute/);
    }
    expect(parseRequest('app:library:set-protected', { folders: ['/a', 'b'] }).ok).toBe(false);
    for (const p of ['/home/me/Pictures', 'C:\\Users\\me', 'D:/Photos', '\\\\nas\\photos']) {
      expect(parseRequest('app:library:add-folder', { path: p }).ok, p).toBe(true);
    }
  });

  it('fills defaults and accepts a missing payload for empty requests', () => {
    expect(parseRequest('app:library:get', undefined)).toEqual({ ok: true, value: {} });
    const apply = parseRequest('app:actions:apply', { groupId: 1, keep: [2], mode: 'trash' });
    expect(apply).toEqual({
      ok: true,
      value: { groupId: 1, keep: [2], mode: 'trash', confirmedLoseAll: false },
    });
  });

  it('gives every channel a request schema', () => {
    for (const channel of CHANNELS)
      expect(typeof CONTRACT[channel].request.safeParse).toBe('function');
  });

  it('describes similarity relative to the thresholds in force', () => {
    const t = { nearDuplicate: 0.4, similar: 0.8 };
    expect(describeSimilarity(0, true, t)).toMatch(/reference/);
    expect(describeSimilarity(0, false, t)).toMatch(/identical/);
    expect(describeSimilarity(0.1, false, t)).toMatch(/resized or re-saved/);
    expect(describeSimilarity(0.35, false, t)).toMatch(/edited or cropped/);
    expect(describeSimilarity(0.5, false, t)).toMatch(/moment apart/);
    expect(describeSimilarity(0.75, false, t)).toMatch(/similar scene/);
  });
});
