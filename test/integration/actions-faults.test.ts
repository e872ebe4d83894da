/**
 * Faults while acting: moves across devices (an injected EXDEV, and a real tmpfs where this machine
 * lets root mount one), copies that do not verify, immutable and unwritable files, bundles whose
 * companion cannot move. Each gives a clear per-file outcome and the rest of the plan goes on.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyPlan, type ApplyOptions } from '../../src-main/engine/actions/apply.service';
import {
  NODE_FS,
  withFoldersAsDevices,
  type ActionFs,
} from '../../src-main/engine/actions/file-ops';
import { readTrashInfoPath } from '../../src-main/engine/actions/freedesktop-trash';
import { buildPlan } from '../../src-main/engine/actions/plan.service';
import type { Plan } from '../../src-main/engine/actions/plan.schema';
import { undoRuns } from '../../src-main/engine/actions/undo.service';
import {
  addGroup,
  addPhoto,
  listFiles,
  makeLibrary,
  photoBytes,
  sha256,
  type Library,
} from './actions-fixture';

let lib: Library;
beforeEach(() => {
  lib = makeLibrary();
});
afterEach(() => lib.close());

function apply(plan: Plan, over: Partial<ApplyOptions> = {}) {
  return applyPlan(lib.db, {
    plan,
    confirmed: true,
    trashEnv: { homeTrash: lib.homeTrash, uid: 0 },
    platform: 'linux',
    ...over,
  });
}

/** A kept photo and `n` lower-resolution copies to trash, each in its own group. */
function seedPairs(n: number, dir = lib.root): { keep: string[]; trash: string[] } {
  const keep: string[] = [];
  const trash: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = path.join(dir, `keep${i}.jpg`);
    const t = path.join(dir, 'dupes', `photo${i}.jpg`);
    const kid = addPhoto(lib.db, k, photoBytes(`k${i}`));
    const tid = addPhoto(lib.db, t, photoBytes(`t${i}`, 3000), { width: 100, height: 100 });
    addGroup(lib.db, 'near-duplicate', [kid, tid]);
    keep.push(k);
    trash.push(t);
  }
  return { keep, trash };
}

function errno(code: string, file: string): Error {
  return Object.assign(new Error(`${code}: operation refused by the test, '${file}'`), { code });
}

describe('moves across devices', () => {
  it('copies, verifies and then unlinks when the file system answers EXDEV, both ways', async () => {
    const { trash } = seedPairs(2);
    const bytes = trash.map((t) => fs.readFileSync(t));
    const mtimes = trash.map((t) => fs.statSync(t).mtimeMs);
    const report = await apply(buildPlan(lib.db), { fs: withFoldersAsDevices(NODE_FS) });
    expect(report.results.filter((r) => r.outcome === 'failed')).toEqual([]);
    expect(report.counts.trashed).toBe(2);
    const files = path.join(lib.homeTrash, 'files');
    expect(listFiles(files)).toEqual(['photo0.jpg', 'photo1.jpg']);
    expect(fs.readFileSync(path.join(files, 'photo1.jpg'))).toEqual(bytes[1]);
    // The copy keeps the modification time to the microsecond (utimes takes no nanoseconds).
    expect(Math.abs(fs.statSync(path.join(files, 'photo1.jpg')).mtimeMs - mtimes[1])).toBeLessThan(
      0.001,
    );
    expect(fs.statSync(path.join(files, 'photo1.jpg')).nlink).toBe(1);
    expect(fs.readdirSync(lib.homeTrash).sort()).toEqual(['files', 'info']);

    const undo = undoRuns(lib.db, { fs: withFoldersAsDevices(NODE_FS) });
    expect(undo.counts).toEqual({ restored: 2 });
    expect(trash.map((t) => fs.readFileSync(t))).toEqual(bytes);
    expect(fs.readdirSync(path.join(lib.root, 'dupes')).sort()).toEqual([
      'photo0.jpg',
      'photo1.jpg',
    ]);
  });

  it('removes a copy that does not verify and keeps the original', async () => {
    const { trash } = seedPairs(2);
    const corrupting: ActionFs = {
      ...withFoldersAsDevices(NODE_FS),
      copyFileSync: (from, to, mode) => {
        NODE_FS.copyFileSync(from, to, mode);
        if (from === trash[0]) fs.appendFileSync(to, 'bit rot');
      },
    };
    const report = await apply(buildPlan(lib.db), { fs: corrupting });
    const first = report.results.find((r) => r.path === trash[0])!;
    expect(first).toMatchObject({ outcome: 'failed', code: 'COPY_VERIFY_FAILED' });
    expect(sha256(fs.readFileSync(trash[0]))).toBe(sha256(photoBytes('t0', 3000)));
    expect(listFiles(path.join(lib.homeTrash, 'files'))).toEqual(['photo1.jpg']);
    expect(listFiles(path.join(lib.homeTrash, 'info'))).toEqual(['photo1.jpg.trashinfo']);
    expect(fs.readdirSync(lib.homeTrash).sort()).toEqual(['files', 'info']);
  });
});

const canMount = (() => {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  const probe = fs.mkdtempSync(path.join(os.tmpdir(), 'doppel-mount-probe-'));
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', probe]).status === 0;
  if (ok) spawnSync('umount', [probe]);
  fs.rmdirSync(probe);
  return ok;
})();
if (!canMount)
  console.warn(
    'actions-faults: cannot mount a tmpfs here (needs root); real cross-device cases skipped.',
  );

describe.skipIf(!canMount)('a real second file system (tmpfs)', () => {
  let mnt: string;
  beforeEach(() => {
    mnt = path.join(lib.dir, 'card');
    fs.mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0755', 'tmpfs', mnt]);
  });
  afterEach(() => {
    spawnSync('umount', [mnt]);
  });

  it('trashes into $topdir/.Trash-$uid on that disk and undoes', async () => {
    const { trash } = seedPairs(1, mnt);
    const report = await apply(buildPlan(lib.db));
    expect(report.counts.trashed).toBe(1);
    const topTrash = path.join(mnt, '.Trash-0');
    expect(listFiles(path.join(topTrash, 'files'))).toEqual(['photo0.jpg']);
    expect(readTrashInfoPath(path.join(topTrash, 'info', 'photo0.jpg.trashinfo'))).toBe(trash[0]);
    expect(fs.existsSync(path.join(lib.homeTrash, 'files', 'photo0.jpg'))).toBe(false);
    expect(undoRuns(lib.db).counts).toEqual({ restored: 1 });
    expect(fs.readFileSync(trash[0])).toEqual(photoBytes('t0', 3000));
  });

  it('moves across devices to --move-to by copy + verify + unlink, and back', async () => {
    const { trash } = seedPairs(2, mnt);
    const target = path.join(lib.dir, 'dupes-on-root-fs');
    const report = await apply(buildPlan(lib.db), { moveTo: target });
    expect(report.counts.moved).toBe(2);
    // The card is outside the scanned root, so paths are kept relative to the moved files' folder.
    expect(listFiles(target)).toEqual(['photo0.jpg', 'photo1.jpg']);
    expect(fs.statSync(path.join(target, 'photo0.jpg')).dev).not.toBe(fs.statSync(mnt).dev);
    expect(trash.some((t) => fs.existsSync(t))).toBe(false);
    expect(undoRuns(lib.db).counts).toEqual({ restored: 2 });
    expect(fs.readFileSync(trash[1])).toEqual(photoBytes('t1', 3000));
  });

  it('reports a read-only disk per file and leaves the file in place', async () => {
    const { trash } = seedPairs(1, mnt);
    const plan = buildPlan(lib.db);
    execFileSync('mount', ['-o', 'remount,ro', mnt]);
    const report = await apply(plan);
    expect(report.results.find((r) => r.path === trash[0])).toMatchObject({
      outcome: 'failed',
      code: 'READ_ONLY',
    });
    expect(fs.existsSync(trash[0])).toBe(true);
    expect(listFiles(path.join(lib.homeTrash, 'files'))).toEqual([]);
    expect(listFiles(path.join(lib.homeTrash, 'info'))).toEqual([]);
  });
});

const canChattr = (() => {
  if (process.platform !== 'linux') return false;
  const probe = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'doppel-chattr-')), 'f');
  fs.writeFileSync(probe, 'x');
  const ok = spawnSync('chattr', ['+i', probe]).status === 0;
  if (ok) spawnSync('chattr', ['-i', probe]);
  fs.rmSync(path.dirname(probe), { recursive: true });
  return ok;
})();
if (!canChattr)
  console.warn(
    'actions-faults: chattr +i is not available; the real immutable-file case is skipped.',
  );

describe('files that cannot be changed', () => {
  // Tests run as root, which ignores permission bits; so the unwritable folder is simulated with
  // an EACCES seam, and a real immutable file (chattr +i, refused even to root) is used where the
  // file system supports it.
  it.skipIf(!canChattr)(
    'leaves an immutable file (chattr +i) in place and goes on with the rest',
    async () => {
      const { trash } = seedPairs(2);
      execFileSync('chattr', ['+i', trash[0]]);
      try {
        const report = await apply(buildPlan(lib.db));
        const first = report.results.find((r) => r.path === trash[0])!;
        expect(first).toMatchObject({ outcome: 'failed', code: 'READ_ONLY' });
        expect(first.reason).toMatch(/read-only or immutable.*EPERM/);
        expect(report.results.find((r) => r.path === trash[1])!.outcome).toBe('trashed');
        expect(listFiles(path.join(lib.homeTrash, 'files'))).toEqual(['photo1.jpg']);
        expect(listFiles(path.join(lib.homeTrash, 'info'))).toEqual(['photo1.jpg.trashinfo']);
      } finally {
        execFileSync('chattr', ['-i', trash[0]]);
      }
      expect(fs.readFileSync(trash[0])).toEqual(photoBytes('t0', 3000));
    },
  );

  it('reports permission denied when the old name cannot be removed, and keeps one copy', async () => {
    const { trash } = seedPairs(2);
    const refusing: ActionFs = {
      ...NODE_FS,
      unlinkSync: (file) => {
        if (file === trash[1]) throw errno('EACCES', file);
        NODE_FS.unlinkSync(file);
      },
    };
    const report = await apply(buildPlan(lib.db), { fs: refusing });
    expect(report.results.find((r) => r.path === trash[1])).toMatchObject({
      outcome: 'failed',
      code: 'PERMISSION_DENIED',
    });
    expect(report.results.find((r) => r.path === trash[0])!.outcome).toBe('trashed');
    expect(fs.existsSync(trash[1])).toBe(true);
    expect(fs.statSync(trash[1]).nlink).toBe(1);
    expect(listFiles(path.join(lib.homeTrash, 'files'))).toEqual(['photo0.jpg']);
    const entry = lib.db
      .prepare('SELECT state, outcome FROM action_entries WHERE source_path = ?')
      .get(trash[1]);
    expect(entry).toEqual({ state: 'failed', outcome: 'PERMISSION_DENIED' });
  });
});

describe('bundles', () => {
  function seedBundle() {
    const { keep, trash } = seedPairs(1);
    const xmp = `${trash[0]}.xmp`;
    const mov = trash[0].replace(/\.jpg$/, '.MOV');
    fs.writeFileSync(xmp, '<x:xmpmeta/>');
    fs.writeFileSync(mov, photoBytes('video', 5000));
    const plan = buildPlan(lib.db);
    const companions = [xmp, mov].map((p) => ({
      path: p,
      size: fs.statSync(p).size,
      mtimeMs: fs.statSync(p).mtimeMs,
    }));
    const withCompanions: Plan = {
      ...plan,
      actions: plan.actions.map((a) => (a.path === trash[0] ? { ...a, companions } : a)),
    };
    return { keep, photo: trash[0], xmp, mov, plan: withCompanions };
  }

  it('trashes a photo with its companions in one step, and undo brings all back', async () => {
    const b = seedBundle();
    const report = await apply(b.plan);
    const r = report.results.find((x) => x.path === b.photo)!;
    expect(r.outcome).toBe('trashed');
    expect(r.companions.map((c) => [path.basename(c.path), c.outcome])).toEqual([
      ['photo0.jpg.xmp', 'trashed'],
      ['photo0.MOV', 'trashed'],
    ]);
    const steps = lib.db.prepare('SELECT DISTINCT step FROM action_entries').all();
    expect(steps).toHaveLength(1);
    expect(listFiles(path.join(lib.homeTrash, 'files'))).toEqual([
      'photo0.MOV',
      'photo0.jpg',
      'photo0.jpg.xmp',
    ]);
    expect(undoRuns(lib.db).counts).toEqual({ restored: 3 });
    expect([b.photo, b.xmp, b.mov].every((p) => fs.existsSync(p))).toBe(true);
  });

  it('puts the photo back when its companion cannot move, so the bundle stays whole', async () => {
    const b = seedBundle();
    const refusing: ActionFs = {
      ...NODE_FS,
      linkSync: (a, to) => {
        if (a === b.mov) throw errno('EPERM', a);
        NODE_FS.linkSync(a, to);
      },
      renameSync: (a, to) => {
        if (a === b.mov) throw errno('EPERM', a);
        NODE_FS.renameSync(a, to);
      },
    };
    const report = await apply(b.plan, { fs: refusing });
    const r = report.results.find((x) => x.path === b.photo)!;
    expect(r).toMatchObject({ outcome: 'failed', code: 'READ_ONLY' });
    expect(r.reason).toContain(`companion ${b.mov}`);
    expect([b.photo, b.xmp, b.mov].every((p) => fs.existsSync(p))).toBe(true);
    expect(listFiles(path.join(lib.homeTrash, 'files'))).toEqual([]);
    expect(listFiles(path.join(lib.homeTrash, 'info'))).toEqual([]);
    const states = lib.db.prepare('SELECT state, outcome FROM action_entries ORDER BY id').all();
    expect(states).toEqual([
      { state: 'undone', outcome: 'BUNDLE_KEPT_TOGETHER' },
      { state: 'undone', outcome: 'BUNDLE_KEPT_TOGETHER' },
      { state: 'failed', outcome: 'READ_ONLY' },
    ]);
    expect(undoRuns(lib.db).runs).toEqual([]);
  });

  it('skips the whole bundle when a companion changed since the plan', async () => {
    const b = seedBundle();
    fs.appendFileSync(b.xmp, '<edit/>');
    const report = await apply(b.plan);
    const r = report.results.find((x) => x.path === b.photo)!;
    expect(r).toMatchObject({ outcome: 'skipped', code: 'CHANGED_SINCE_PLAN' });
    expect(r.reason).toContain(`companion ${b.xmp}: size`);
    expect(fs.existsSync(b.photo)).toBe(true);
  });
});
