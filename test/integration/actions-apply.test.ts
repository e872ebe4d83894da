import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyPlan, type ApplyOptions } from '../../src-main/engine/actions/apply.service';
import {
  encodeTrashPath,
  readTrashInfoPath,
} from '../../src-main/engine/actions/freedesktop-trash';
import { buildPlan } from '../../src-main/engine/actions/plan.service';
import type { Plan } from '../../src-main/engine/actions/plan.schema';
import { undoRuns } from '../../src-main/engine/actions/undo.service';
import {
  addGroup,
  addPhoto,
  listFiles,
  makeLibrary,
  photoBytes,
  photoStatus,
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

/** Two groups: a kept original with an identical copy, and a big photo with a smaller version. */
function seedTwoGroups() {
  const bytes = photoBytes('beach');
  const keep1 = path.join(lib.root, '2019', 'beach.jpg');
  const copy1 = path.join(lib.root, 'inbox', 'beach copy.jpg');
  const k1 = addPhoto(lib.db, keep1, bytes);
  const c1 = addPhoto(lib.db, copy1, bytes);
  addGroup(lib.db, 'exact', [k1, c1]);
  const keep2 = path.join(lib.root, 'big.jpg');
  const small2 = path.join(lib.root, 'sub', 'small 50% ü.jpg');
  const k2 = addPhoto(lib.db, keep2, photoBytes('mountain'));
  const s2 = addPhoto(lib.db, small2, photoBytes('mountain-small', 2048), {
    width: 800,
    height: 600,
  });
  addGroup(lib.db, 'near-duplicate', [k2, s2]);
  return {
    keep1,
    copy1,
    keep2,
    small2,
    ids: { k1, c1, k2, s2 },
    bytes: { copy1: bytes, small2: fs.readFileSync(small2) },
  };
}

describe('apply and undo', () => {
  it('changes nothing in a dry run and says what would happen', async () => {
    const s = seedTwoGroups();
    const before = listFiles(lib.root);
    const report = await apply(buildPlan(lib.db), { confirmed: false });
    expect(report.dryRun).toBe(true);
    expect(report.runId).toBeNull();
    expect(report.counts).toEqual({ kept: 2, 'would-trash': 2 });
    expect(listFiles(lib.root)).toEqual(before);
    expect(fs.existsSync(lib.homeTrash)).toBe(false);
    expect(photoStatus(lib.db, s.ids.c1)).toBe('ok');
  });

  it('trashes into the freedesktop home trash with .trashinfo, and undo restores everything', async () => {
    const s = seedTwoGroups();
    const mtimeBefore = fs.statSync(s.small2).mtimeMs;
    const report = await apply(buildPlan(lib.db));
    expect(report.counts).toEqual({ kept: 2, trashed: 2 });
    expect(fs.existsSync(s.copy1)).toBe(false);
    expect(fs.existsSync(s.small2)).toBe(false);
    expect(fs.existsSync(s.keep1) && fs.existsSync(s.keep2)).toBe(true);

    const files = path.join(lib.homeTrash, 'files');
    const info = path.join(lib.homeTrash, 'info');
    expect(listFiles(files)).toEqual(['beach copy.jpg', 'small 50% ü.jpg']);
    expect(fs.readFileSync(path.join(files, 'small 50% ü.jpg'))).toEqual(s.bytes.small2);
    const infoText = fs.readFileSync(path.join(info, 'small 50% ü.jpg.trashinfo'), 'utf8');
    expect(infoText).toMatch(
      /^\[Trash Info\]\nPath=.*\nDeletionDate=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\n$/,
    );
    expect(infoText).toContain(`Path=${encodeTrashPath(s.small2)}\n`);
    expect(infoText).toContain('small%2050%25%20%C3%BC.jpg');
    expect(readTrashInfoPath(path.join(info, 'small 50% ü.jpg.trashinfo'))).toBe(s.small2);
    expect(photoStatus(lib.db, s.ids.s2)).toBe('missing');
    const entries = lib.db
      .prepare('SELECT state, kind, dest_path FROM action_entries ORDER BY source_path')
      .all();
    expect(entries).toEqual([
      { state: 'done', kind: 'trash', dest_path: path.join(files, 'beach copy.jpg') },
      { state: 'done', kind: 'trash', dest_path: path.join(files, 'small 50% ü.jpg') },
    ]);

    const undo = undoRuns(lib.db);
    expect(undo.runs).toEqual([report.runId]);
    expect(undo.counts).toEqual({ restored: 2 });
    expect(fs.readFileSync(s.small2)).toEqual(s.bytes.small2);
    expect(fs.readFileSync(s.copy1)).toEqual(s.bytes.copy1);
    expect(fs.statSync(s.small2).mtimeMs).toBe(mtimeBefore);
    expect(listFiles(files)).toEqual([]);
    expect(listFiles(info)).toEqual([]);
    expect(photoStatus(lib.db, s.ids.s2)).toBe('ok');
    expect(undoRuns(lib.db).runs).toEqual([]);
  });

  it('picks NAME.2.ext when the trash already holds that name', async () => {
    const s = seedTwoGroups();
    const files = path.join(lib.homeTrash, 'files');
    fs.mkdirSync(files, { recursive: true });
    fs.writeFileSync(path.join(files, 'beach copy.jpg'), 'someone else');
    await apply(buildPlan(lib.db));
    expect(fs.readFileSync(path.join(files, 'beach copy.jpg'), 'utf8')).toBe('someone else');
    expect(fs.readFileSync(path.join(files, 'beach copy.2.jpg'))).toEqual(s.bytes.copy1);
    expect(readTrashInfoPath(path.join(lib.homeTrash, 'info', 'beach copy.2.jpg.trashinfo'))).toBe(
      s.copy1,
    );
  });

  it('moves to --move-to keeping paths relative to the scanned root, and undo brings them back', async () => {
    const s = seedTwoGroups();
    const target = path.join(lib.dir, 'dupes');
    const report = await apply(buildPlan(lib.db), { moveTo: target });
    expect(report.counts).toEqual({ kept: 2, moved: 2 });
    expect(listFiles(target)).toEqual(['inbox/beach copy.jpg', 'sub/small 50% ü.jpg']);
    expect(report.results.find((r) => r.path === s.small2)?.destination).toBe(
      path.join(target, 'sub', 'small 50% ü.jpg'),
    );
    expect(fs.existsSync(lib.homeTrash)).toBe(false);

    fs.rmSync(path.join(lib.root, 'sub'), { recursive: true });
    const undo = undoRuns(lib.db);
    expect(undo.counts).toEqual({ restored: 2 });
    expect(fs.readFileSync(s.small2)).toEqual(s.bytes.small2);
    expect(listFiles(target)).toEqual([]);
  });

  it('reports a name taken at the --move-to destination and overwrites nothing', async () => {
    const s = seedTwoGroups();
    const target = path.join(lib.dir, 'dupes');
    fs.mkdirSync(path.join(target, 'inbox'), { recursive: true });
    fs.writeFileSync(path.join(target, 'inbox', 'beach copy.jpg'), 'older file');
    const report = await apply(buildPlan(lib.db), { moveTo: target });
    const r = report.results.find((x) => x.path === s.copy1)!;
    expect(r).toMatchObject({ outcome: 'skipped', code: 'NAME_TAKEN' });
    expect(r.reason).toContain(path.join(target, 'inbox', 'beach copy.jpg'));
    expect(fs.readFileSync(path.join(target, 'inbox', 'beach copy.jpg'), 'utf8')).toBe(
      'older file',
    );
    expect(fs.existsSync(s.copy1)).toBe(true);
    expect(report.counts.moved).toBe(1);
  });

  it('skips a file whose content, size or date changed since the plan', async () => {
    const s = seedTwoGroups();
    const plan = buildPlan(lib.db);
    const stat = fs.statSync(s.copy1);
    const tampered = Buffer.from(s.bytes.copy1);
    tampered[100] ^= 0xff;
    fs.writeFileSync(s.copy1, tampered);
    fs.utimesSync(s.copy1, stat.atime, stat.mtime);
    fs.appendFileSync(s.small2, 'x');

    const report = await apply(plan);
    const byPath = new Map(report.results.map((r) => [r.path, r]));
    expect(byPath.get(s.copy1)).toMatchObject({ outcome: 'skipped', code: 'CHANGED_SINCE_PLAN' });
    expect(byPath.get(s.copy1)!.reason).toContain('content differs');
    expect(byPath.get(s.small2)!.reason).toContain('size 2049 bytes, plan says 2048');
    expect(fs.existsSync(s.copy1) && fs.existsSync(s.small2)).toBe(true);
    expect(listFiles(path.join(lib.homeTrash, 'files'))).toEqual([]);
  });

  it('skips a file whose name is not valid UTF-8 with that reason, and leaves it in place', async () => {
    const bytes = photoBytes('latin1');
    const keep = path.join(lib.root, 'cafe.jpg');
    const rawName = Buffer.concat([
      Buffer.from(path.join(lib.root, 'caf')),
      Buffer.from([0xe9]),
      Buffer.from('.jpg'),
    ]);
    fs.writeFileSync(rawName, bytes);
    const k = addPhoto(lib.db, keep, bytes, { mtimeMs: Date.parse('2019-01-01') });
    const stat = fs.statSync(rawName);
    // The scan stores such a name escaped for display, with its raw bytes beside it.
    const escaped = path.join(lib.root, 'caf\\xE9.jpg');
    const id = Number(
      lib.db
        .prepare(
          `INSERT INTO photos (path, path_bytes, size, mtime_ms, content_hash, format, width,
             height, taken_at, exif_fields, status)
           VALUES (?, ?, ?, ?, ?, 'jpeg', 4000, 3000, '2020-05-01T12:00:00', 30, 'ok')`,
        )
        .run(escaped, rawName, stat.size, stat.mtimeMs, sha256(bytes)).lastInsertRowid,
    );
    addGroup(lib.db, 'exact', [k, id]);
    const plan = buildPlan(lib.db);
    expect(plan.actions.find((a) => a.path === escaped)?.action).toBe('trash');

    const report = await apply(plan);
    const result = report.results.find((r) => r.path === escaped);
    expect(result).toMatchObject({ outcome: 'skipped', code: 'SOURCE_MISSING' });
    expect(result!.reason).toContain('not valid UTF-8');
    expect(fs.readFileSync(rawName)).toEqual(bytes);
    expect(listFiles(path.join(lib.homeTrash, 'files'))).toEqual([]);
  });

  it('never touches a protected folder, from the plan or from the command line', async () => {
    const s = seedTwoGroups();
    const plan = buildPlan(lib.db);
    const fromPlan = await apply({ ...plan, protect: [path.join(lib.root, 'inbox')] });
    expect(fromPlan.results.find((r) => r.path === s.copy1)).toMatchObject({
      outcome: 'skipped',
      code: 'PROTECTED_FOLDER',
    });
    expect(fs.existsSync(s.copy1)).toBe(true);
    expect(fs.existsSync(s.small2)).toBe(false);

    const other = seedOtherGroup();
    const fromCli = await apply(buildPlan(lib.db), { protect: [path.dirname(other)] });
    expect(fromCli.results.find((r) => r.path === other)).toMatchObject({
      outcome: 'skipped',
      code: 'PROTECTED_FOLDER',
    });
    expect(fs.existsSync(other)).toBe(true);
  });

  function seedOtherGroup(): string {
    const dir = path.join(lib.root, 'cards');
    const a = addPhoto(lib.db, path.join(dir, 'x.jpg'), photoBytes('card'));
    const b = addPhoto(lib.db, path.join(dir, 'x (1).jpg'), photoBytes('card'));
    addGroup(lib.db, 'exact', [a, b]);
    return path.join(dir, 'x (1).jpg');
  }

  it('acts once on a file listed twice, and never trashes a file the plan also keeps', async () => {
    const s = seedTwoGroups();
    const plan = buildPlan(lib.db);
    const trashCopy = plan.actions.find((a) => a.path === s.copy1)!;
    const keepSmall = {
      ...plan.actions.find((a) => a.path === s.small2)!,
      action: 'keep' as const,
    };
    const report = await apply({ ...plan, actions: [...plan.actions, trashCopy, keepSmall] });
    const codes = report.results.map((r) => [path.basename(r.path), r.outcome, r.code]);
    expect(codes).toEqual([
      ['big.jpg', 'kept', undefined],
      ['small 50% ü.jpg', 'skipped', 'KEEP_CONFLICT'],
      ['beach.jpg', 'kept', undefined],
      ['beach copy.jpg', 'trashed', undefined],
      ['beach copy.jpg', 'skipped', 'LISTED_TWICE'],
      ['small 50% ü.jpg', 'kept', undefined],
    ]);
    expect(fs.existsSync(s.small2)).toBe(true);
  });

  it('refuses to remove the last copy of a group unless the plan allows it', async () => {
    const s = seedTwoGroups();
    const plan = buildPlan(lib.db);
    const allTrash: Plan = {
      ...plan,
      actions: plan.actions.map((a) => ({ ...a, action: 'trash' as const })),
    };
    const report = await apply(allTrash);
    const outcomes = report.results.map((r) => [path.basename(r.path), r.outcome, r.code]);
    // Plans list near-duplicate groups before exact ones; in each group the first removal goes
    // through and the second, which would leave no copy, is refused.
    expect(outcomes).toEqual([
      ['big.jpg', 'trashed', undefined],
      ['small 50% ü.jpg', 'skipped', 'LAST_COPY'],
      ['beach.jpg', 'trashed', undefined],
      ['beach copy.jpg', 'skipped', 'LAST_COPY'],
    ]);
    expect(fs.existsSync(s.copy1) && fs.existsSync(s.small2)).toBe(true);

    const allowed: Plan = {
      ...plan,
      actions: plan.actions
        .filter((a) => a.path === s.copy1)
        .map((a) => ({ ...a, allowLastCopy: true })),
    };
    const forced = await apply(allowed);
    expect(forced.results[0]).toMatchObject({ outcome: 'trashed' });
    expect(fs.existsSync(s.copy1)).toBe(false);
  });

  it('counts a kept copy that vanished or changed as gone, so its duplicate stays', async () => {
    const s = seedTwoGroups();
    const plan = buildPlan(lib.db);
    fs.rmSync(s.keep1);
    fs.appendFileSync(s.keep2, 'edited');
    const report = await apply(plan);
    const refused = report.results.filter((r) => r.code === 'LAST_COPY').map((r) => r.path);
    expect(refused.sort()).toEqual([s.copy1, s.small2].sort());
    expect(fs.existsSync(s.copy1) && fs.existsSync(s.small2)).toBe(true);
  });

  it('reports a name taken again at the original place on undo, then restores once it is free', async () => {
    const s = seedTwoGroups();
    await apply(buildPlan(lib.db));
    fs.writeFileSync(s.copy1, 'a new file with the old name');
    const first = undoRuns(lib.db);
    const r = first.results.find((x) => x.path === s.copy1)!;
    expect(r).toMatchObject({ outcome: 'skipped', code: 'NAME_TAKEN' });
    expect(fs.readFileSync(s.copy1, 'utf8')).toBe('a new file with the old name');
    expect(fs.existsSync(path.join(lib.homeTrash, 'files', 'beach copy.jpg'))).toBe(true);
    expect(fs.existsSync(s.small2)).toBe(true);

    fs.rmSync(s.copy1);
    const second = undoRuns(lib.db);
    expect(second.counts).toEqual({ restored: 1 });
    expect(fs.readFileSync(s.copy1)).toEqual(s.bytes.copy1);
  });

  it('undoes the last N runs, newest first, or all of them', async () => {
    const s = seedTwoGroups();
    const plan = buildPlan(lib.db);
    const one = await apply({ ...plan, actions: plan.actions.filter((a) => a.path !== s.small2) });
    const two = await apply({ ...plan, actions: plan.actions.filter((a) => a.path !== s.copy1) });
    expect(undoRuns(lib.db, { last: 1 }).runs).toEqual([two.runId]);
    expect(fs.existsSync(s.small2)).toBe(true);
    expect(fs.existsSync(s.copy1)).toBe(false);
    const again = await apply({ ...plan, actions: plan.actions.filter((a) => a.path !== s.copy1) });
    expect(undoRuns(lib.db, { all: true }).runs).toEqual([again.runId, one.runId]);
    expect(fs.existsSync(s.small2) && fs.existsSync(s.copy1)).toBe(true);
  });

  it('uses the system trash on macOS and Windows, and undo says to restore from there', async () => {
    const s = seedTwoGroups();
    const systemTrash = path.join(lib.dir, 'system-trash');
    fs.mkdirSync(systemTrash);
    const sent: string[] = [];
    const report = await apply(buildPlan(lib.db), {
      platform: 'darwin',
      systemTrash: async (file) => {
        sent.push(file);
        fs.renameSync(file, path.join(systemTrash, path.basename(file)));
      },
    });
    expect(report.counts.trashed).toBe(2);
    expect(sent.sort()).toEqual([s.copy1, s.small2].sort());
    expect(fs.existsSync(lib.homeTrash)).toBe(false);
    const undo = undoRuns(lib.db);
    expect(undo.results.map((r) => r.code)).toEqual([
      'RESTORE_FROM_SYSTEM_TRASH',
      'RESTORE_FROM_SYSTEM_TRASH',
    ]);
    expect(undo.results[0].reason).toContain('Put Back');
  });

  it('says a file is gone when the trash was emptied, and moves on to older runs next time', async () => {
    const s = seedTwoGroups();
    const report = await apply(buildPlan(lib.db));
    fs.rmSync(path.join(lib.homeTrash, 'files', 'beach copy.jpg'));
    const undo = undoRuns(lib.db);
    expect(undo.results.find((r) => r.path === s.copy1)).toMatchObject({
      outcome: 'failed',
      code: 'GONE_FROM_DESTINATION',
    });
    expect(fs.existsSync(s.small2)).toBe(true);
    const state = lib.db
      .prepare('SELECT state FROM action_entries WHERE source_path = ?')
      .get(s.copy1);
    expect(state).toEqual({ state: 'gone' });
    expect(undoRuns(lib.db).runs).toEqual([]);
    expect(report.runId).not.toBeNull();
  });

  it('does not restore another file that took the trashed name after the trash was emptied', async () => {
    const s = seedTwoGroups();
    await apply(buildPlan(lib.db));
    const trashed = path.join(lib.homeTrash, 'files', 'beach copy.jpg');
    fs.writeFileSync(trashed, 'trashed later by a file manager');
    const undo = undoRuns(lib.db);
    expect(undo.results.find((r) => r.path === s.copy1)).toMatchObject({
      outcome: 'failed',
      code: 'GONE_FROM_DESTINATION',
    });
    expect(fs.existsSync(s.copy1)).toBe(false);
    expect(fs.readFileSync(trashed, 'utf8')).toBe('trashed later by a file manager');
  });
});
