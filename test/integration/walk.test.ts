import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  escapeNonUtf8,
  walk,
  type WalkEntry,
  type WalkFs,
  type WalkOptions,
} from '../../src-main/engine/fs/walk';

let tmp: string;
beforeEach(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'doppel-walk-')));
});
afterEach(() => {
  // Restore modes a test may have removed, so the temp folder can be deleted.
  execFileSync('chmod', ['-R', 'u+rwx', tmp]);
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Creates `rel` (and its folders) under tmp with `content`. */
function put(rel: string, content = rel): string {
  const file = path.join(tmp, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

async function collect(roots: string[], opts?: WalkOptions): Promise<WalkEntry[]> {
  const out: WalkEntry[] = [];
  for await (const entry of walk(roots, opts)) out.push(entry);
  return out;
}

function filePaths(entries: WalkEntry[]): string[] {
  return entries.filter((e) => e.kind === 'file').map((e) => path.relative(tmp, e.path));
}

function problems(entries: WalkEntry[]): { path: string; code: string }[] {
  return entries
    .filter((e) => e.kind === 'problem')
    .map((e) => ({ path: path.relative(tmp, e.path), code: e.code }));
}

/** Every path under `dir` with its size and modification time, to prove nothing changed. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const visit = (d: string): void => {
    for (const name of fs.readdirSync(d)) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      out.push(`${p} ${st.size} ${st.mtimeMs} ${st.mode}`);
      if (st.isDirectory()) visit(p);
    }
  };
  visit(dir);
  return out.sort();
}

describe('walk', () => {
  it('yields every regular file recursively, in name order, with the stat of each', async () => {
    put('b.jpg', 'bb');
    put('a/2.png');
    put('a/1.jpg', 'x'.repeat(10));
    put('a/deeper/z.heic');
    put('c/readme.txt');
    const entries = await collect([tmp]);

    expect(filePaths(entries)).toEqual([
      'b.jpg',
      'a/1.jpg',
      'a/2.png',
      'a/deeper/z.heic',
      'c/readme.txt',
    ]);
    const first = entries.find((e) => e.kind === 'file' && e.path.endsWith('1.jpg'));
    const st = fs.statSync(path.join(tmp, 'a/1.jpg'));
    expect(first).toEqual({
      kind: 'file',
      path: path.join(tmp, 'a/1.jpg'),
      pathBytes: Buffer.from(path.join(tmp, 'a/1.jpg')),
      size: 10,
      mtimeMs: st.mtimeMs,
      dev: st.dev,
      ino: st.ino,
      nameIsUtf8: true,
    });
  });

  it('walks several roots and yields a file reached from two roots once', async () => {
    put('one/a.jpg');
    put('one/inner/b.jpg');
    put('two/c.jpg');
    const roots = [path.join(tmp, 'one'), path.join(tmp, 'two'), path.join(tmp, 'one/inner')];
    expect(filePaths(await collect(roots))).toEqual(['one/a.jpg', 'one/inner/b.jpg', 'two/c.jpg']);
  });

  it('skips hidden names and system or trash folders by default', async () => {
    put('keep.jpg');
    put('.hidden.jpg');
    put('.cache/x.jpg');
    for (const folder of [
      '.Trash',
      '.Trash-1000',
      '.Trashes',
      '$RECYCLE.BIN',
      'System Volume Information',
      '@eaDir',
      'lost+found',
      '.thumbnails',
      '#recycle',
    ]) {
      put(`${folder}/photo.jpg`);
      put(`album/${folder}/photo.jpg`);
    }
    expect(filePaths(await collect([tmp]))).toEqual(['keep.jpg']);
  });

  it('includeHidden adds dot names but still skips trash and system folders', async () => {
    put('keep.jpg');
    put('.hidden.jpg');
    put('.album/x.jpg');
    put('.Trash-1000/files/y.jpg');
    put('.Trash/z.jpg');
    put('@eaDir/thumb.jpg');
    const files = filePaths(await collect([tmp], { includeHidden: true }));
    expect(files).toEqual(['.hidden.jpg', 'keep.jpg', '.album/x.jpg']);
  });

  it('leaves out files and folders matching exclude globs, relative or absolute', async () => {
    put('keep/a.jpg');
    put('keep/a.tmp');
    put('cache/b.jpg');
    put('deep/x/cache/c.jpg');
    put('other/d.jpg');
    const entries = await collect([tmp], {
      exclude: ['*.tmp', '**/cache/**', `${tmp}/other/**`],
    });
    expect(filePaths(entries)).toEqual(['keep/a.jpg']);
  });

  it('follows links to files and folders and yields each file once', async () => {
    put('real/a.jpg');
    put('b.jpg');
    fs.symlinkSync(path.join(tmp, 'real'), path.join(tmp, 'linked-folder'));
    fs.symlinkSync(path.join(tmp, 'b.jpg'), path.join(tmp, 'linked-file.jpg'));
    put('outside-target/o.jpg');
    const root = path.join(tmp, 'root');
    fs.mkdirSync(root);
    fs.symlinkSync(path.join(tmp, 'outside-target'), path.join(root, 'to-outside'));

    expect(filePaths(await collect([tmp]))).toEqual([
      'b.jpg',
      'linked-folder/a.jpg',
      'outside-target/o.jpg',
    ]);
    expect(filePaths(await collect([root]))).toEqual(['root/to-outside/o.jpg']);
  });

  it('reports a symlink loop once and does not follow it', async () => {
    put('a/b/photo.jpg');
    fs.symlinkSync(path.join(tmp, 'a'), path.join(tmp, 'a/b/back-to-a'));
    fs.symlinkSync('self', path.join(tmp, 'self'));
    const entries = await collect([tmp]);
    expect(filePaths(entries)).toEqual(['a/b/photo.jpg']);
    // Entries of a folder come before its subfolders' entries.
    expect(problems(entries)).toEqual([
      { path: 'self', code: 'SYMLINK_LOOP' },
      { path: 'a/b/back-to-a', code: 'SYMLINK_LOOP' },
    ]);
    const loop = entries.find((e) => e.kind === 'problem' && e.path.endsWith('back-to-a'));
    expect(loop?.kind === 'problem' && loop.detail).toMatch(/leads back to .*\/a\)$/);
  });

  it('reports a dangling link as BROKEN_LINK and goes on', async () => {
    fs.symlinkSync(path.join(tmp, 'nowhere.jpg'), path.join(tmp, 'dangling.jpg'));
    put('z.jpg');
    const entries = await collect([tmp]);
    expect(problems(entries)).toEqual([{ path: 'dangling.jpg', code: 'BROKEN_LINK' }]);
    expect(filePaths(entries)).toEqual(['z.jpg']);
  });

  it('keeps raw bytes of a name that is not UTF-8, so the file can be read back', async () => {
    const rawName = Buffer.concat([Buffer.from('caf'), Buffer.from([0xff]), Buffer.from('.jpg')]);
    const otherRaw = Buffer.concat([Buffer.from('caf'), Buffer.from([0xfe]), Buffer.from('.jpg')]);
    const dirBytes = Buffer.from(path.join(tmp, 'sub'));
    fs.mkdirSync(dirBytes);
    fs.writeFileSync(Buffer.concat([dirBytes, Buffer.from('/'), rawName]), 'pixels-ff');
    fs.writeFileSync(Buffer.concat([dirBytes, Buffer.from('/'), otherRaw]), 'pixels-fe');
    put('sub/plain.jpg');

    const files = (await collect([tmp])).filter((e) => e.kind === 'file');
    expect(files.map((f) => [path.basename(f.path), f.nameIsUtf8])).toEqual([
      ['caf\\xFE.jpg', false],
      ['caf\\xFF.jpg', false],
      ['plain.jpg', true],
    ]);
    const ff = files.find((f) => f.path.endsWith('\\xFF.jpg'));
    expect(fs.readFileSync(ff!.pathBytes, 'utf8')).toBe('pixels-ff');
  });

  it('escapes only the bytes that are not UTF-8 in a display name', () => {
    const name = Buffer.concat([
      Buffer.from('é'),
      Buffer.from([0xc3]), // a lead byte with no continuation
      Buffer.from('x'),
      Buffer.from([0xe2, 0x82]), // cut-short 3-byte sequence
      Buffer.from('€'),
      Buffer.from([0x80]),
    ]);
    expect(escapeNonUtf8(name)).toBe('é\\xC3x\\xE2\\x82€\\x80');
  });

  it('handles paths longer than 300 characters', async () => {
    const parts = Array.from({ length: 7 }, (_, i) => `${i}-${'n'.repeat(50)}`);
    const file = put(path.join(...parts, 'photo.jpg'), 'deep');
    expect(file.length).toBeGreaterThan(300);
    const files = (await collect([tmp])).filter((e) => e.kind === 'file');
    expect(files.map((f) => f.path)).toEqual([file]);
    expect(fs.readFileSync(files[0].pathBytes, 'utf8')).toBe('deep');
  });

  it('reports a folder deleted during the walk as VANISHED and goes on', async () => {
    put('a/1.jpg');
    put('b/2.jpg');
    put('c/3.jpg');
    const entries: WalkEntry[] = [];
    for await (const entry of walk([tmp])) {
      entries.push(entry);
      if (entries.length === 1) fs.rmSync(path.join(tmp, 'b'), { recursive: true });
    }
    expect(filePaths(entries)).toEqual(['a/1.jpg', 'c/3.jpg']);
    expect(problems(entries)).toEqual([{ path: 'b', code: 'VANISHED' }]);
  });

  it('reports a root that does not exist, and yields a root that is a file', async () => {
    const file = put('single.jpg');
    const entries = await collect([path.join(tmp, 'missing'), file]);
    expect(problems(entries)).toEqual([{ path: 'missing', code: 'VANISHED' }]);
    expect(filePaths(entries)).toEqual(['single.jpg']);
  });

  it('treats a mode 000 folder sensibly: UNREADABLE, or read when running as root', async () => {
    put('locked/secret.jpg');
    put('open/fine.jpg');
    fs.chmodSync(path.join(tmp, 'locked'), 0o000);
    const entries = await collect([tmp]);
    const isRoot = process.getuid?.() === 0;
    // Root bypasses permission bits, so there the folder is simply read.
    if (isRoot) {
      expect(filePaths(entries)).toEqual(['locked/secret.jpg', 'open/fine.jpg']);
      expect(problems(entries)).toEqual([]);
    } else {
      expect(filePaths(entries)).toEqual(['open/fine.jpg']);
      expect(problems(entries)).toEqual([{ path: 'locked', code: 'UNREADABLE' }]);
    }
  });

  it('maps injected read errors to problems and goes on', async () => {
    put('a/1.jpg');
    put('b/2.jpg');
    put('c/3.jpg');
    put('d.jpg');
    const failing: WalkFs = {
      readdir: async (dir) => {
        const name = path.basename(dir.toString());
        if (name === 'a') throw Object.assign(new Error('denied'), { code: 'EACCES' });
        if (name === 'b') throw Object.assign(new Error('i/o'), { code: 'EIO' });
        return fs.promises.readdir(dir, { encoding: 'buffer' });
      },
      stat: async (file) => {
        if (file.toString().endsWith('d.jpg')) {
          throw Object.assign(new Error('gone'), { code: 'ENOENT' });
        }
        return fs.promises.stat(file);
      },
      lstat: (file) => fs.promises.lstat(file),
    };
    const entries = await collect([tmp], { fs: failing });
    expect(filePaths(entries)).toEqual(['c/3.jpg']);
    expect(problems(entries)).toEqual([
      { path: 'd.jpg', code: 'VANISHED' },
      { path: 'a', code: 'UNREADABLE' },
      { path: 'b', code: 'IO_ERROR' },
    ]);
    const details = entries.flatMap((e) => (e.kind === 'problem' ? [e.detail] : []));
    expect(details[1]).toBe(
      'The folder cannot be read: permission denied, so the photos in it were not scanned.',
    );
    expect(details[2]).toMatch(/\(EIO\)$/);
  });

  it('skips FIFOs instead of opening them', async () => {
    put('a.jpg');
    try {
      execFileSync('mkfifo', [path.join(tmp, 'pipe.jpg')]);
    } catch {
      console.warn('mkfifo is not available here; the FIFO case is not checked');
      return;
    }
    expect(filePaths(await collect([tmp]))).toEqual(['a.jpg']);
  });

  it('streams: the first file comes before later folders are read', async () => {
    for (let i = 0; i < 5; i++) put(`f${i}/p.jpg`);
    let reads = 0;
    const counting: WalkFs = {
      readdir: (dir) => {
        reads += 1;
        return fs.promises.readdir(dir, { encoding: 'buffer' });
      },
      stat: (file) => fs.promises.stat(file),
      lstat: (file) => fs.promises.lstat(file),
    };
    const gen = walk([tmp], { fs: counting });
    const first = await gen.next();
    expect(first.value?.kind).toBe('file');
    expect(reads).toBe(2); // the root and f0 only
    await gen.return(undefined);
  });

  it('never changes anything in the walked folders', async () => {
    put('a/1.jpg');
    put('.hidden/2.jpg');
    fs.symlinkSync(path.join(tmp, 'a'), path.join(tmp, 'a/loop'));
    const before = snapshot(tmp);
    await collect([tmp], { includeHidden: true });
    expect(snapshot(tmp)).toEqual(before);
  });

  it('refuses an exclude glob picomatch cannot parse with a clear message', async () => {
    put('a.jpg');
    const bad = collect([tmp], { exclude: [''] });
    await expect(bad).rejects.toThrow(/Invalid value for --exclude/);
  });
});
