import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildPlan } from '../../src-main/engine/actions/plan.service';
import { PlanSchema, readPlanFile } from '../../src-main/engine/actions/plan.schema';
import {
  addGroup,
  addPhoto,
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

describe('buildPlan', () => {
  it('decides exact and near-duplicate groups, carrying what apply needs to verify each file', () => {
    const bytes = photoBytes('sunset');
    const original = path.join(lib.root, 'IMG_1.jpg');
    const dup = path.join(lib.root, 'backup', 'IMG_1 (1).jpg');
    const a = addPhoto(lib.db, original, bytes);
    const b = addPhoto(lib.db, dup, bytes);
    const exact = addGroup(lib.db, 'exact', [a, b]);
    const big = addPhoto(lib.db, path.join(lib.root, 'big.heic'), photoBytes('big'), {
      format: 'heic',
    });
    const small = addPhoto(lib.db, path.join(lib.root, 'small.jpg'), photoBytes('small'), {
      width: 1600,
      height: 1200,
    });
    const near = addGroup(lib.db, 'near-duplicate', [small, big]);
    const s1 = addPhoto(lib.db, path.join(lib.root, 's1.jpg'), photoBytes('s1'));
    const s2 = addPhoto(lib.db, path.join(lib.root, 's2.jpg'), photoBytes('s2'), {
      width: 10,
      height: 10,
    });
    const similar = addGroup(lib.db, 'similar', [s1, s2]);

    const plan = buildPlan(lib.db);
    expect(PlanSchema.parse(JSON.parse(JSON.stringify(plan)))).toBeTruthy();
    expect(plan.roots).toEqual([lib.root]);
    const byPath = new Map(plan.actions.map((x) => [x.path, x]));
    expect(plan.actions).toHaveLength(4);
    expect(byPath.get(original)).toMatchObject({
      action: 'keep',
      group: exact,
      groupKind: 'exact',
      reason: 'keep: equal on every criterion; the other name looks like a copy',
      size: bytes.length,
      contentHash: sha256(bytes),
      companions: [],
    });
    expect(byPath.get(original)!.mtimeMs).toBe(fs.statSync(original).mtimeMs);
    expect(byPath.get(dup)).toMatchObject({
      action: 'trash',
      keptCopy: original,
      reason: `trash: identical copy of ${original}, equal otherwise; its name looks like a copy`,
    });
    expect(byPath.get(path.join(lib.root, 'small.jpg'))).toMatchObject({
      action: 'trash',
      group: near,
      reason: `trash: same picture as ${path.join(lib.root, 'big.heic')}, lower resolution (1600x1200 vs 4000x3000)`,
    });
    expect(plan.actions.some((x) => x.group === similar)).toBe(false);

    const onlySimilar = buildPlan(lib.db, { kinds: ['similar'] });
    expect(onlySimilar.actions.map((x) => [x.path, x.action])).toEqual([
      [path.join(lib.root, 's1.jpg'), 'keep'],
      [path.join(lib.root, 's2.jpg'), 'trash'],
    ]);
    expect(onlySimilar.actions[1].reason).toMatch(/^trash: similar to /);
  });

  it('keeps every copy inside a protected folder and records the folder in the plan', () => {
    const safe = path.join(lib.root, 'safe');
    const low = addPhoto(lib.db, path.join(safe, 'low.jpg'), photoBytes('low'), {
      width: 100,
      height: 100,
    });
    const high = addPhoto(lib.db, path.join(lib.root, 'high.jpg'), photoBytes('high'));
    const mid = addPhoto(lib.db, path.join(lib.root, 'mid.jpg'), photoBytes('mid'), {
      width: 1000,
      height: 1000,
    });
    addGroup(lib.db, 'near-duplicate', [low, high, mid]);

    const plan = buildPlan(lib.db, { protect: [safe] });
    expect(plan.protect).toContain(safe);
    const actions = Object.fromEntries(plan.actions.map((x) => [path.basename(x.path), x]));
    expect(actions['low.jpg']).toMatchObject({
      action: 'keep',
      reason: `keep: inside protected folder ${safe}`,
    });
    expect(actions['high.jpg'].action).toBe('keep');
    expect(actions['mid.jpg'].action).toBe('trash');
  });

  it('gives each photo one action when it sits in an exact and a near-duplicate group', () => {
    const bytes = photoBytes('x');
    const a = addPhoto(lib.db, path.join(lib.root, 'a.jpg'), bytes, { width: 800, height: 600 });
    const b = addPhoto(lib.db, path.join(lib.root, 'b.jpg'), bytes, { width: 800, height: 600 });
    const c = addPhoto(lib.db, path.join(lib.root, 'c.jpg'), photoBytes('c'));
    addGroup(lib.db, 'exact', [a, b]);
    const near = addGroup(lib.db, 'near-duplicate', [a, b, c]);

    const plan = buildPlan(lib.db);
    expect(plan.actions.map((x) => [path.basename(x.path), x.action, x.group])).toEqual([
      ['c.jpg', 'keep', near],
      ['a.jpg', 'trash', near],
      ['b.jpg', 'trash', near],
    ]);
  });

  it('leaves out photos no longer in the library and RAW+JPEG pair groups', () => {
    const a = addPhoto(lib.db, path.join(lib.root, 'a.jpg'), photoBytes('a'));
    const b = addPhoto(lib.db, path.join(lib.root, 'b.jpg'), photoBytes('b'));
    addGroup(lib.db, 'near-duplicate', [a, b]);
    lib.db.prepare(`UPDATE photos SET status = 'missing' WHERE id = ?`).run(b);
    const raw = addPhoto(lib.db, path.join(lib.root, 'p.cr2'), photoBytes('p'), { format: 'raw' });
    const jpg = addPhoto(lib.db, path.join(lib.root, 'p.jpg'), photoBytes('pj'));
    addGroup(lib.db, 'near-duplicate', [jpg, raw], 'raw+jpeg');
    expect(buildPlan(lib.db).actions).toEqual([]);
  });

  it('follows a reordered keep rule', () => {
    const big = addPhoto(lib.db, path.join(lib.root, 'big.jpg'), photoBytes('b'));
    const heic = addPhoto(lib.db, path.join(lib.root, 'small.heic'), photoBytes('h'), {
      format: 'heic',
      width: 640,
      height: 480,
    });
    addGroup(lib.db, 'near-duplicate', [big, heic]);
    const plan = buildPlan(lib.db, { order: ['format'] });
    expect(plan.actions[0]).toMatchObject({
      path: path.join(lib.root, 'small.heic'),
      action: 'keep',
    });
    expect(plan.prefer?.[0]).toBe('format');
  });

  it('keeps an edited version and its original both, and still trashes a plain copy', () => {
    const original = addPhoto(lib.db, path.join(lib.root, 'IMG_0007.JPG'), photoBytes('o', 3000));
    const edit = addPhoto(lib.db, path.join(lib.root, 'IMG_E0007.JPG'), photoBytes('e', 5000));
    const copy = addPhoto(
      lib.db,
      path.join(lib.root, 'old', 'IMG_0007 copy.JPG'),
      photoBytes('c'),
      {
        width: 1000,
        height: 750,
      },
    );
    addGroup(lib.db, 'near-duplicate', [edit, original, copy]);
    const plan = buildPlan(lib.db);
    const byName = new Map(plan.actions.map((a) => [path.basename(a.path), a]));
    expect(byName.get('IMG_E0007.JPG')).toMatchObject({ action: 'keep' });
    expect(byName.get('IMG_0007.JPG')).toMatchObject({ action: 'keep' });
    expect(byName.get('IMG_0007.JPG')!.reason).toMatch(/original of an edited version/);
    expect(byName.get('IMG_0007 copy.JPG')).toMatchObject({ action: 'trash' });
  });

  it('keeps the sharper copy when resolution, size, format, EXIF and date tie', () => {
    const soft = addPhoto(lib.db, path.join(lib.root, 'a-soft.jpg'), photoBytes('soft'));
    const crisp = addPhoto(lib.db, path.join(lib.root, 'b-crisp.jpg'), photoBytes('crisp'));
    const setSharpness = lib.db.prepare('UPDATE photos SET sharpness = ? WHERE id = ?');
    setSharpness.run(12.5, soft);
    setSharpness.run(480, crisp);
    addGroup(lib.db, 'near-duplicate', [soft, crisp]);
    const plan = buildPlan(lib.db);
    const keep = plan.actions.find((a) => a.action === 'keep');
    expect(keep?.path).toBe(path.join(lib.root, 'b-crisp.jpg'));
    expect(keep?.reason).toMatch(/sharpest/);
  });
});

describe('readPlanFile', () => {
  it('names the first problem of an invalid plan', () => {
    const file = path.join(lib.dir, 'plan.json');
    fs.writeFileSync(
      file,
      JSON.stringify({ actions: [{ path: 'relative.jpg', action: 'trash' }] }),
    );
    expect(() => readPlanFile(file)).toThrow(
      /plan .*plan\.json is not valid: actions\.0\.path: must be an absolute path/,
    );
    fs.writeFileSync(file, '{ not json');
    expect(() => readPlanFile(file)).toThrow(/is not valid: not JSON/);
    expect(() => readPlanFile(path.join(lib.dir, 'none.json'))).toThrow(
      /is not valid: file not found/,
    );
    fs.writeFileSync(
      file,
      JSON.stringify({
        actions: [
          { path: '/a.jpg', action: 'delete', group: 1, size: 1, mtimeMs: 1, contentHash: 'x' },
        ],
      }),
    );
    expect(() => readPlanFile(file)).toThrow(/actions\.0\.action/);
  });
});
