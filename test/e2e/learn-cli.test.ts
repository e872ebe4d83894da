/**
 * `doppel label`, `doppel train` and `doppel head` end to end through the built binary, on a cache
 * filled with synthetic features and a synthetic model folder (learning never decodes a photo):
 * labels by path, import/export, training in a worker thread with progress, versions and revert.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src-main/engine/db/database';
import { PhotoRepository } from '../../src-main/engine/db/photo.repository';
import { REPO_ROOT } from '../helpers/shared-data';
import {
  makeScenes,
  seedLibrary,
  shippedHead,
  writeSyntheticModel,
  type SyntheticPhoto,
} from '../integration/learn-fixtures';

const BIN = path.join(REPO_ROOT, 'bin', 'doppel.js');
const BUILT = fs.existsSync(
  path.join(REPO_ROOT, 'dist', 'src-main', 'engine', 'learn', 'learn.worker.js'),
);
if (!BUILT)
  console.warn('learn-cli: dist/ has no learn worker; run `npm run build` first. Skipped.');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function doppel(args: string[], env: Record<string, string> = {}): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, ...env },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Seeds a cache with `scenes` synthetic scenes; returns its file and each photo's path. */
function seedCache(
  dir: string,
  scenes: number,
): { db: string; paths: Map<string, string>; photos: SyntheticPhoto[] } {
  const file = path.join(dir, `cache-${scenes}.sqlite`);
  const db = openDatabase(file);
  try {
    const photos = makeScenes(scenes, 7);
    return { db: file, paths: seedLibrary(db, path.join(dir, 'photos'), photos), photos };
  } finally {
    db.close();
  }
}

(BUILT ? describe : describe.skip)('doppel label / train / head', () => {
  let tmp: string;
  let modelDir: string;
  let cache: ReturnType<typeof seedCache>;
  const p = (s: SyntheticPhoto): string => cache.paths.get(s.name)!;
  const triplets = (): { query: string; better: string; worse: string }[] => {
    const out = [];
    for (let i = 0; i < cache.photos.length; i += 3) {
      out.push({
        query: p(cache.photos[i]),
        better: p(cache.photos[i + 1]),
        worse: p(cache.photos[i + 2]),
      });
    }
    return out;
  };

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'doppel-learn-e2e-'));
    modelDir = path.join(tmp, 'model');
    writeSyntheticModel(modelDir, shippedHead(1), makeScenes(60, 555));
    cache = seedCache(tmp, 24);
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('adds a triplet by path and refuses a photo that was never scanned, naming it', () => {
    const [first] = triplets();
    const ok = doppel([
      'label',
      '--db',
      cache.db,
      '--query',
      first.query,
      '--better',
      first.better,
      '--worse',
      first.worse,
      '--json',
    ]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      action: 'triplet',
      added: { labels: 1, pairs: 0 },
      total: { labels: 1 },
    });

    const ghost = path.join(tmp, 'photos', 'ghost.jpg');
    const bad = doppel([
      'label',
      '--db',
      cache.db,
      '--query',
      first.query,
      '--better',
      ghost,
      '--worse',
      first.worse,
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`doppel: Not a scanned photo: ${ghost}`);
    expect(bad.stderr).not.toMatch(/at .*\.js:\d+/);

    const partial = doppel(['label', '--db', cache.db, '--query', first.query]);
    expect(partial.code).toBe(2);
    expect(partial.stderr).toContain(
      'Invalid value for --query/--better/--worse: no --better or --worse',
    );
  });

  it('imports a JSON array of triplets', () => {
    const file = path.join(tmp, 'more.json');
    fs.writeFileSync(file, JSON.stringify(triplets().slice(1)));
    const r = doppel(['label', '--db', cache.db, '--import', file, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ added: { labels: 23 }, total: { labels: 24 } });
  });

  it('trains in a worker thread with progress on stderr and adopts a better head', () => {
    const r = doppel(['train', '--db', cache.db, '--json', '--model', modelDir, '--verbose']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ adopted: true, version: 2 });
    expect(report.heldOut.after).toBeGreaterThan(report.heldOut.before);
    expect(report.generic.after).toBeGreaterThanOrEqual(report.generic.shipped - 0.01);
    expect(report.embedded).toBe(72);
    expect(r.stderr).toContain('running the learning task in a worker thread');
    expect(r.stderr).toMatch(/doppel: training \d+\/120/);
    expect(r.stderr).toMatch(/doppel: embedding 72\/72/);
  });

  it('lists head versions and reverts to the shipped one', () => {
    const list = doppel(['head', '--db', cache.db, '--list', '--json', '--model', modelDir]);
    expect(list.code).toBe(0);
    const { heads } = JSON.parse(list.stdout);
    expect(
      heads.map((h: { version: number; isCurrent: boolean }) => [h.version, h.isCurrent]),
    ).toEqual([
      [1, false],
      [2, true],
    ]);
    const human = doppel(['head', '--db', cache.db, '--model', modelDir]);
    expect(human.stdout).toMatch(/^\* {3}2 {2}trained .* held-out \d\.\d\d -> \d\.\d\d, generic/m);

    const revert = doppel([
      'head',
      '--db',
      cache.db,
      '--revert',
      'shipped',
      '--json',
      '--model',
      modelDir,
    ]);
    expect(revert.code).toBe(0);
    expect(JSON.parse(revert.stdout)).toMatchObject({ version: 1, previous: 2 });
    const unknown = doppel(['head', '--db', cache.db, '--revert', '9', '--model', modelDir]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No head version 9. Known versions: shipped (1), 2');
  });

  it('exports labels and imports them into another cache of the same photos', () => {
    const file = path.join(tmp, 'export.json');
    expect(
      doppel(['label', '--db', cache.db, '--not-duplicate', p(cache.photos[0]), p(cache.photos[2])])
        .code,
    ).toBe(0);
    const out = doppel(['label', '--db', cache.db, '--export', file, '--json']);
    expect(JSON.parse(out.stdout)).toMatchObject({ exported: { labels: 25, pairs: 1 } });
    const exported = JSON.parse(fs.readFileSync(file, 'utf8'));
    const other = path.join(tmp, 'other.sqlite');
    const db = openDatabase(other);
    seedLibrary(db, path.join(tmp, 'photos'), cache.photos);
    db.close();
    const imported = doppel(['label', '--db', other, '--import', file, '--json']);
    expect(JSON.parse(imported.stdout)).toMatchObject({ added: { labels: 25, pairs: 1 } });
    const again = path.join(tmp, 'again.json');
    doppel(['label', '--db', other, '--export', again]);
    expect(JSON.parse(fs.readFileSync(again, 'utf8'))).toEqual(exported);
  });

  it('does not adopt a head from contradicting labels and prints the reason', () => {
    const db = path.join(tmp, 'contradict.sqlite');
    fs.copyFileSync(cache.db, db);
    const clean = openDatabase(db);
    clean.exec('DELETE FROM labels; DELETE FROM heads; DELETE FROM not_duplicate_pairs;');
    clean.close();
    const file = path.join(tmp, 'contradict.json');
    const t = triplets().slice(0, 8);
    fs.writeFileSync(
      file,
      JSON.stringify([...t, ...t.map((x) => ({ ...x, better: x.worse, worse: x.better }))]),
    );
    expect(doppel(['label', '--db', db, '--import', file]).code).toBe(0);
    const r = doppel(['train', '--db', db, '--model', modelDir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Not adopted: 16 of 16 labels contradict each other');
    expect(r.stdout).toContain('Head version 1 stays current.');
  });

  it('keeps the event loop of the calling process responsive while training', () => {
    const script = `
      const { runLearnJob } = require(${JSON.stringify(path.join(REPO_ROOT, 'dist/src-main/engine/learn/learn.job.js'))});
      let last = performance.now(); let worst = 0;
      const timer = setInterval(() => { const now = performance.now(); worst = Math.max(worst, now - last); last = now; }, 5);
      runLearnJob({ kind: 'switch-head', version: 2 }, { dbFile: ${JSON.stringify(cache.db)}, modelDir: ${JSON.stringify(modelDir)} })
        .then((r) => { clearInterval(timer); console.log(JSON.stringify({ worst, version: r.version })); });`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
    const out = JSON.parse(r.stdout);
    expect(out.version).toBe(2);
    expect(out.worst).toBeLessThan(100);
  });
});

(BUILT ? describe : describe.skip)('doppel arguments, thresholds and databases', () => {
  let tmp: string;
  let modelDir: string;
  let cache: ReturnType<typeof seedCache>;
  const p = (i: number): string => cache.paths.get(cache.photos[i].name)!;
  const savedThresholds = (file: string): string | undefined => {
    const db = openDatabase(file);
    try {
      return new PhotoRepository(db).getSetting('thresholds');
    } finally {
      db.close();
    }
  };
  const lines = (text: string): string[] => text.trim().split('\n');

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'doppel-cli-args-'));
    modelDir = path.join(tmp, 'model');
    writeSyntheticModel(modelDir, shippedHead(1), makeScenes(60, 555));
    cache = seedCache(tmp, 4);
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('prints its version', () => {
    const r = doppel(['--version']);
    expect(r.code).toBe(0);
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
    expect(r.stdout).toBe(`${pkg.version}\n`);
  });

  it('refuses thresholds out of order with exit 2 and one line, saving nothing', () => {
    const groups = (...args: string[]): Run =>
      doppel(['groups', '--db', cache.db, '--model', modelDir, ...args]);
    for (const args of [
      ['--near', '0.9'],
      ['--similar', '0.1', '--near', '0.05', '--similar', '0.01'],
      ['--similar', '0.1', '--near', '0.5'],
      ['--similar', '0.2'],
    ]) {
      const r = groups(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toMatch(/^doppel: The near-duplicate threshold .* nothing was saved\./);
      expect(r.stdout).toBe('');
    }
    expect(savedThresholds(cache.db)).toBeUndefined();
    expect(groups('--json').code).toBe(0);

    const ok = groups('--near', '0.3', '--json');
    expect(ok.code).toBe(0);
    expect(JSON.parse(savedThresholds(cache.db)!)).toEqual({ nearDuplicate: 0.3, similar: 0.6 });
    // Both in one command, each checked against the other rather than the saved pair.
    expect(groups('--near', '0.7', '--similar', '0.8').code).toBe(0);
    expect(JSON.parse(savedThresholds(cache.db)!)).toEqual({ nearDuplicate: 0.7, similar: 0.8 });
  });

  it('regroups a database that holds an invalid pair with one warning, and lets it be fixed', () => {
    const file = path.join(tmp, 'bricked.sqlite');
    fs.copyFileSync(cache.db, file);
    const db = openDatabase(file);
    new PhotoRepository(db).setSetting(
      'thresholds',
      JSON.stringify({ nearDuplicate: 0.9, similar: 0.6 }),
    );
    db.close();
    const fixed = doppel(['groups', '--db', file, '--model', modelDir, '--similar', '0.7']);
    expect(fixed.code).toBe(0);
    expect(lines(fixed.stderr)).toHaveLength(1);
    expect(fixed.stderr).toMatch(/^warn: the saved grouping thresholds cannot be used/);
    expect(fixed.stdout).toMatch(/^#1 /);
    expect(JSON.parse(savedThresholds(file)!)).toEqual({ nearDuplicate: 0.35, similar: 0.7 });
    const after = doppel(['groups', '--db', file, '--model', modelDir, '--near', '0.3']);
    expect(after.code).toBe(0);
    expect(after.stderr).toBe('');
  });

  it('refuses a database that does not exist, creating no file or folder', () => {
    const planFile = path.join(tmp, 'plan.json');
    const plan = doppel(['plan', '--db', cache.db, '--json']);
    expect(plan.code).toBe(0);
    fs.writeFileSync(planFile, plan.stdout);
    const missingDir = path.join(tmp, 'nonexistent', 'dir');
    const missing = path.join(missingDir, 'x.sqlite');
    const commands = [
      ['groups'],
      ['groups', '--near', '0.3', '--model', modelDir],
      ['neighbors', '--k', '2', '--model', modelDir],
      ['problems'],
      ['plan'],
      ['apply', '--plan', planFile, '--yes', '--move-to', path.join(missingDir, 'moved')],
      ['undo'],
      ['head', '--list', '--model', modelDir],
      ['head', '--revert', 'shipped', '--model', modelDir],
      ['train', '--model', modelDir],
      ['label', '--export', path.join(tmp, 'never.json')],
      ['label', '--not-duplicate', p(0), p(1)],
    ];
    for (const args of commands) {
      const r = doppel([...args, '--db', missing]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toBe(
        `doppel: No Doppel database at ${missing}: run "doppel scan <folder>" first.\n`,
      );
      expect(fs.existsSync(path.join(tmp, 'nonexistent')), args.join(' ')).toBe(false);
    }
    expect(fs.existsSync(path.join(tmp, 'never.json'))).toBe(false);

    // The default database (in DOPPEL_HOME here) is refused the same way, and still used once it exists.
    const home = path.join(tmp, 'home');
    const r = doppel(['problems'], { DOPPEL_HOME: home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`No Doppel database at ${path.join(home, 'library.sqlite')}`);
    expect(fs.existsSync(home)).toBe(false);
    fs.mkdirSync(home);
    fs.copyFileSync(cache.db, path.join(home, 'library.sqlite'));
    expect(doppel(['problems'], { DOPPEL_HOME: home }).code).toBe(0);
  });

  it('exits 2 with one line on stderr for every bad argument', () => {
    const cases = [
      ['undo', '--last', '2', '--all'],
      ['head', '--list', '--revert', '1'],
      ['label', '--query', 'a'],
      ['label'],
      ['label', '--not-duplicate', 'A'],
      ['label', '--export', 'a.json', '--import', 'b.json'],
      ['neighbors', '--k', '0'],
      ['groups', '--near', '3'],
    ];
    for (const args of cases) {
      const r = doppel([...args, '--db', cache.db]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(lines(r.stderr), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(/^doppel: /);
    }
  });

  it('prints one line for an error with a hint, and the hint and stack only with --verbose', () => {
    const nope = path.join(tmp, 'nope');
    const r = doppel(['scan', nope, '--db', path.join(tmp, 'scan.sqlite'), '--model', modelDir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`doppel: Folder not found: ${nope} (check the path and try again)\n`);
    const v = doppel(['head', '--revert', '9', '--db', cache.db, '--model', modelDir, '--verbose']);
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(/No head version 9.*\n {2}See doppel head --list\.\n.*at /s);
  });

  it('counts a not-duplicate pair once, and says when an import added nothing', () => {
    const file = path.join(tmp, 'pair.sqlite');
    fs.copyFileSync(cache.db, file);
    const pair = doppel(['label', '--db', file, '--not-duplicate', p(0), p(2)]);
    expect(pair.code).toBe(0);
    expect(pair.stdout).toBe(
      'Marked the two photos as not duplicates. 0 labels and 1 not-duplicate pair stored.\n',
    );
    const triplet = doppel(
      ['label', '--db', file, '--query', p(0), '--better', p(1)].concat(['--worse', p(2)]),
    );
    expect(triplet.stdout).toBe('Added 1 label. 1 label and 1 not-duplicate pair stored.\n');

    const ghost = path.join(tmp, 'photos', 'ghost.jpg');
    const bad = path.join(tmp, 'bad.json');
    fs.writeFileSync(
      bad,
      JSON.stringify([
        { query: p(3), better: p(4), worse: p(5) },
        { query: ghost, better: p(4), worse: p(5) },
      ]),
    );
    const r = doppel(['label', '--db', file, '--import', bad]);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain(
      `doppel: Nothing was imported from ${bad}: entry 2: Not a scanned photo: ${ghost}`,
    );
    const total = doppel(['label', '--db', file, '--export', path.join(tmp, 'e.json'), '--json']);
    expect(JSON.parse(total.stdout)).toMatchObject({ total: { labels: 2, pairs: 1 } });
  });
});
