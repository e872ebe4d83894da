/**
 * `npm run bench`: measures, on this machine, decode-only throughput, full scan throughput and
 * their ratio (generated 12 MP camera-like JPEGs and real dataset photos), the rescan time of an
 * unchanged 10,000-photo library, neighbour search and grouping at 100k and 1M embeddings, the
 * cost of adopting a new head at 100k photos, and peak RSS. It prints figures against the targets; it asserts nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { decodePhoto } from '../../src-main/engine/decode/decode';
import { openDatabase } from '../../src-main/engine/db/database';
import { defaultModelDir, loadModel, type LoadedModel } from '../../src-main/engine/ml';
import { scanLibrary } from '../../src-main/engine/scan/scan.service';
import { REPO_ROOT, sharedPath } from '../helpers/shared-data';
import { benchGrouping } from './grouping.bench';
import { benchLearn } from './learn.bench';

const WORK = path.join(REPO_ROOT, '.bench');
const CAMERA_PHOTOS = Number(process.env.BENCH_CAMERA_PHOTOS ?? 48);
const DATASET_PHOTOS = Number(process.env.BENCH_DATASET_PHOTOS ?? 400);
const RESCAN_PHOTOS = Number(process.env.BENCH_RESCAN_PHOTOS ?? 10_000);
const GROUPING_SIZES = (process.env.BENCH_GROUPING_SIZES ?? '100000,1000000')
  .split(',')
  .map(Number);
const LEARN_SIZES = (process.env.BENCH_LEARN_SIZES ?? '100000').split(',').map(Number);

interface Row {
  name: string;
  value: string;
  target?: string;
}
const rows: Row[] = [];

function record(name: string, value: string, target?: string): void {
  rows.push({ name, value, target });
  process.stderr.write(`bench: ${name}: ${value}${target ? `   (target ${target})` : ''}\n`);
}

/** Lists the images under `dir`, sorted. */
function listImages(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(jpe?g|png|webp)$/i.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

/** 12 MP JPEGs that look like camera output: a real photo upscaled, with sensor-like noise. */
async function makeCameraPhotos(count: number): Promise<string> {
  const dir = path.join(WORK, `camera-${count}`);
  if (fs.existsSync(dir) && listImages(dir).length === count) return dir;
  fs.mkdirSync(dir, { recursive: true });
  const train = sharedPath('datasets', 'train');
  const sources = train ? listImages(train).filter((_, i) => i % 37 === 0) : [];
  for (let i = 0; i < count; i++) {
    const noise = await sharp({
      create: {
        width: 4000,
        height: 3000,
        channels: 3,
        background: '#808080',
        noise: { type: 'gaussian', mean: 128, sigma: 12 },
      },
    })
      .png()
      .toBuffer();
    const base = sources.length
      ? sharp(sources[i % sources.length])
          .rotate()
          .resize(4000, 3000, { fit: 'fill' })
      : sharp({
          create: {
            width: 4000,
            height: 3000,
            channels: 3,
            background: { r: 90 + i, g: 120, b: 160 },
          },
        });
    await base
      .composite([{ input: noise, blend: 'overlay' }])
      .jpeg({ quality: 92 })
      .withMetadata({ orientation: 1 })
      .toFile(path.join(dir, `IMG_${String(i).padStart(4, '0')}.jpg`));
  }
  return dir;
}

/** Decode-only: the same decode the scan does (read + sharp shrink-on-load), 3 files at a time. */
async function decodeOnly(files: string[], size: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const buf = await fs.promises.readFile(files[next++]);
      const r = await decodePhoto(buf, { size, trimBorders: true });
      if (!r.ok) throw new Error(`bench input failed to decode: ${r.detail}`);
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  return files.length / (Number(process.hrtime.bigint() - t0) / 1e9);
}

async function fullScan(
  dir: string,
  model: LoadedModel,
): Promise<{ rate: number; photos: number }> {
  const dbFile = path.join(os.tmpdir(), `doppel-bench-${process.pid}-${Date.now()}.sqlite`);
  const db = openDatabase(dbFile);
  try {
    const summary = await scanLibrary(db, [dir], { model, provider: 'cpu' });
    return { rate: summary.photos / summary.seconds, photos: summary.photos };
  } finally {
    db.close();
    for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) fs.rmSync(f, { force: true });
  }
}

async function benchThroughput(label: string, dir: string, model: LoadedModel): Promise<void> {
  const files = listImages(dir);
  await decodeOnly(files.slice(0, 3), model.card.input.size); // warm up sharp
  const decodeRate = await decodeOnly(files, model.card.input.size);
  const scan = await fullScan(dir, model);
  record(`${label}: decode-only`, `${decodeRate.toFixed(1)} photos/s (${files.length} photos)`);
  record(`${label}: full scan`, `${scan.rate.toFixed(1)} photos/s (${scan.photos} photos)`);
  record(`${label}: scan / decode-only`, (scan.rate / decodeRate).toFixed(2), '>= 0.85');
}

/** A 10,000-file library of small distinct-by-name copies; scanned once, then rescanned. */
async function benchRescan(model: LoadedModel): Promise<void> {
  const dir = path.join(WORK, `rescan-${RESCAN_PHOTOS}`);
  if (!fs.existsSync(dir)) {
    const seeds: Buffer[] = [];
    for (let i = 0; i < 20; i++) {
      seeds.push(
        await sharp({
          create: {
            width: 64,
            height: 48,
            channels: 3,
            background: '#000000',
            noise: { type: 'gaussian', mean: 100 + i, sigma: 30 },
          },
        })
          .jpeg()
          .toBuffer(),
      );
    }
    for (let i = 0; i < RESCAN_PHOTOS; i++) {
      const sub = path.join(dir, `folder-${Math.floor(i / 500)}`);
      fs.mkdirSync(sub, { recursive: true });
      fs.writeFileSync(path.join(sub, `p${i}.jpg`), seeds[i % seeds.length]);
    }
  }
  const dbFile = path.join(os.tmpdir(), `doppel-rescan-${process.pid}.sqlite`);
  const db = openDatabase(dbFile);
  try {
    const first = await scanLibrary(db, [dir], { model, provider: 'cpu' });
    const second = await scanLibrary(db, [dir], { model, provider: 'cpu' });
    if (second.unchanged !== RESCAN_PHOTOS)
      throw new Error(`rescan saw ${second.unchanged} unchanged`);
    record(`first scan of ${RESCAN_PHOTOS} small files`, `${first.seconds.toFixed(2)} s`);
    record(
      `unchanged rescan of ${RESCAN_PHOTOS} photos`,
      `${second.seconds.toFixed(2)} s`,
      '< 2 s',
    );
  } finally {
    db.close();
    for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) fs.rmSync(f, { force: true });
  }
}

const USAGE = `usage: npm run bench
Measures decode-only and full scan throughput (48 generated 12 MP JPEGs, 400 dataset photos when
../shared is present), the unchanged rescan of 10,000 photos, neighbours and grouping at 100k and
1M synthetic embeddings, adopting a new head at 100k photos, and peak RSS; prints one table.
It takes about 10 minutes on 2 cores and needs about 6 GB of free disk for the 100k cache.
Environment: BENCH_CAMERA_PHOTOS, BENCH_DATASET_PHOTOS, BENCH_RESCAN_PHOTOS,
BENCH_GROUPING_SIZES (default 100000,1000000), BENCH_LEARN_SIZES (default 100000).`;

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  fs.mkdirSync(WORK, { recursive: true });
  const model = loadModel(defaultModelDir());
  record(
    'model',
    `${model.card.name} ${model.card.networkVersion}, ${model.card.input.size} px, views ${model.card.views.join('+')}`,
  );

  const camera = await makeCameraPhotos(CAMERA_PHOTOS);
  await benchThroughput('12 MP camera JPEGs', camera, model);

  const train = sharedPath('datasets', 'train');
  if (train) {
    const dir = path.join(WORK, `dataset-${DATASET_PHOTOS}`);
    if (!fs.existsSync(dir)) {
      fs.mkdirSync(dir, { recursive: true });
      listImages(train)
        .filter((_, i) => i % 9 === 0)
        .slice(0, DATASET_PHOTOS)
        .forEach((f, i) => fs.copyFileSync(f, path.join(dir, `${i}${path.extname(f)}`)));
    }
    await benchThroughput('dataset photos (384 px)', dir, model);
  } else {
    record('dataset photos', 'skipped: ../shared/datasets is absent');
  }

  await benchRescan(model);
  for (const [name, value] of Object.entries(await benchGrouping(GROUPING_SIZES))) {
    record(name, String(value));
  }
  for (const [name, value] of Object.entries(benchLearn(LEARN_SIZES))) {
    const target =
      /new head: re-embed \+ regroup s$/.test(name) && name.startsWith('100k')
        ? '< 10 s'
        : undefined;
    record(name, String(value), target);
  }
  record('peak RSS of this process', `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);

  process.stdout.write('\n| measure | figure | target |\n|---|---|---|\n');
  for (const r of rows) process.stdout.write(`| ${r.name} | ${r.value} | ${r.target ?? ''} |\n`);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
  process.exitCode = 1;
});
