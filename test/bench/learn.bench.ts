/**
 * What adopting a new head costs: a real SQLite cache holding the shipped network's features for N
 * photos (every view of the card), then `refreshForHead` with a head the cache has never seen,
 * the path `doppel train` and `doppel head --revert` take: embeddings recomputed from cached
 * features (no decoding), stale ones dropped, groups rebuilt. Each size runs in its own process.
 * Run alone: `node dist/test/bench/learn.bench.js 100000`.
 *
 * The features are synthetic (clusters of perturbed unit vectors, a third of the photos in
 * near-duplicate sets), so the figure measures cost, not quality.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../src-main/engine/db/database';
import { refreshForHead } from '../../src-main/engine/learn/head.service';
import { defaultModelDir, loadModel, type LoadedModel } from '../../src-main/engine/ml';

/** A small deterministic generator (xorshift32) and a normal deviate from it. */
function makeRandom(seed: number): { uniform: () => number; normal: () => number } {
  let s = seed >>> 0 || 1;
  const uniform = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  const normal = (): number =>
    Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}

function unit(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const k = 1 / Math.sqrt(sum);
  for (let i = 0; i < v.length; i++) v[i] *= k;
  return v;
}

/** Fills a cache for `photos` photos with every view's features; returns the seconds it took. */
function fillCache(dbFile: string, model: LoadedModel, photos: number): number {
  const started = performance.now();
  const db = openDatabase(dbFile);
  const dims = model.card.output.dims;
  const views = model.card.views;
  const rnd = makeRandom(11);
  const insertPhoto = db.prepare(
    `INSERT INTO photos (path, path_bytes, size, mtime_ms, content_hash, format, width, height,
       status) VALUES (?, ?, 1000, 0, ?, 'jpeg', 4000, 3000, 'ok')`,
  );
  const insertFeature = db.prepare(
    'INSERT INTO features (content_hash, network_version, view, data) VALUES (?, ?, ?, ?)',
  );
  let base = unit(Float32Array.from({ length: dims }, rnd.normal));
  const batch = 2000;
  for (let start = 0; start < photos; start += batch) {
    db.transaction(() => {
      for (let i = start; i < Math.min(photos, start + batch); i++) {
        // A third of the photos continue the previous one's near-duplicate set.
        const nearPrevious = i % 3 === 2;
        if (!nearPrevious) base = unit(Float32Array.from({ length: dims }, rnd.normal));
        const hash = i.toString(16).padStart(64, '0');
        const file = `/bench/library/${Math.floor(i / 1000)}/IMG_${i}.jpg`;
        insertPhoto.run(file, Buffer.from(file), hash);
        for (const view of views) {
          const v = new Float32Array(dims);
          const noise = nearPrevious ? 0.02 : 0.2;
          for (let d = 0; d < dims; d++) v[d] = base[d] + noise * rnd.normal() * 0.05;
          insertFeature.run(hash, model.card.networkVersion, view, Buffer.from(unit(v).buffer));
        }
      }
    })();
  }
  db.close();
  return (performance.now() - started) / 1000;
}

/** The shipped model with a head the cache has no embeddings for (weights nudged, new version). */
function withUnseenHead(model: LoadedModel): LoadedModel {
  const weight = Float32Array.from(model.head.weight, (w, i) => w * (1 + ((i % 7) - 3) * 1e-3));
  return { ...model, head: { ...model.head, version: `${model.head.version}-bench`, weight } };
}

async function measureSize(photos: number): Promise<Record<string, number>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'doppel-learn-bench-'));
  try {
    const model = loadModel(defaultModelDir());
    const dbFile = path.join(dir, 'library.sqlite');
    const fillSeconds = fillCache(dbFile, model, photos);
    const db = openDatabase(dbFile);
    const phases: Record<string, number> = {};
    let phaseStart = performance.now();
    let phase = '';
    const started = performance.now();
    const result = await refreshForHead(db, withUnseenHead(model), {
      onProgress: (p) => {
        if (p.phase === phase) return;
        if (phase) phases[phase] = (performance.now() - phaseStart) / 1000;
        phase = p.phase;
        phaseStart = performance.now();
      },
    });
    const total = (performance.now() - started) / 1000;
    if (phase) phases[phase] = (performance.now() - phaseStart) / 1000;
    const bytes = fs.statSync(dbFile).size;
    db.close();
    const k = photos >= 1000 ? `${photos / 1000}k` : String(photos);
    return {
      [`${k} photos x ${model.card.views.length} views: cache fill s`]: round(fillSeconds),
      [`${k} cache MB`]: Math.round(bytes / 2 ** 20),
      [`${k} new head: re-embed + regroup s`]: round(total),
      [`${k} new head: re-embed s`]: round(phases.embedding ?? 0),
      [`${k} new head: regroup s`]: round(phases.grouping ?? 0),
      [`${k} new head: rows embedded`]: result.embedded,
      [`${k} new head: groups`]: result.groups,
      [`${k} learn peak RSS MB`]: Math.round(process.resourceUsage().maxRSS / 1024),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Runs each size in a fresh Node process and returns the figures by name. */
export function benchLearn(sizes: number[]): Record<string, number> {
  const results: Record<string, number> = {};
  for (const size of sizes) {
    const child = spawnSync(process.execPath, [__filename, '--child', String(size)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (child.status !== 0)
      throw new Error(`learn bench for ${size} photos failed (exit ${child.status})`);
    Object.assign(results, JSON.parse(child.stdout.trim().split('\n').pop()!));
  }
  return results;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const run =
    args[0] === '--child'
      ? measureSize(Number(args[1])).then((r) => process.stdout.write(`${JSON.stringify(r)}\n`))
      : Promise.resolve(benchLearn(args.map(Number))).then((r) =>
          process.stdout.write(`${JSON.stringify(r, null, 1)}\n`),
        );
  run.catch((err: unknown) => {
    process.stderr.write(`learn bench failed: ${(err as Error).stack}\n`);
    process.exitCode = 1;
  });
}
