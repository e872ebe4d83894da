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

function doppel(args: string[]): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
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
    expect(partial.code).toBe(1);
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
