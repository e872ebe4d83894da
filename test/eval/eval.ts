/**
 * `npm run eval`: measures the shipped model against pHash, dHash and dupeGuru-like blocks on a
 * synthetic near-duplicate set made from held-out photos and on dev-eval's real groups, and prints
 * one table (also written to .eval/results.json and .eval/results.md).
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BASELINE_THRESHOLDS, createBaselineMethods, hashPhotos } from './baselines';
import { bestAtPrecision, bestPrecision, type OperatingPoint } from './metrics';
import { loadRealSet, REAL_KINDS, type RealSet } from './real-set';
import {
  formatFigure,
  formatMarkdownTable,
  formatTextTable,
  LEGEND,
  type ResultRow,
} from './report';
import {
  FAIR_PRECISION,
  meanScore,
  scoreReal,
  scoreSynthetic,
  type KindScore,
  type Method,
  type PooledPairs,
  type RealLayout,
  type SyntheticLayout,
} from './scoring';
import { prepareSyntheticSet, SYNTHETIC_KINDS, type SyntheticSet } from './synthetic';
import { findRepoRoot, secondsSince } from './util';

/** The recall goals for the model at its shipped thresholds (pair precision >= 0.99). */
const GOALS: Record<string, number> = {
  resize: 0.98,
  'jpeg-q40': 0.98,
  png: 0.98,
  webp: 0.98,
  heic: 0.98,
  'brightness-contrast': 0.98,
  watermark: 0.98,
  greyscale: 0.98,
  'rotate3-crop': 0.95,
  crop80: 0.9,
  mirror: 0.9,
  letterbox: 0.9,
  rot90: 0.9,
  'rot90-exif': 0.9,
  crop60: 0.7,
  burst: 0.85,
  bracket: 0.8,
  viewpoint: 0.6,
  'object-views': 0.6,
};

const USAGE = `usage: npm run eval -- [options]
  --calibrate          also print suggested nearDuplicate and similar thresholds for the card
  --similar-precision P  pair precision the suggested similar threshold keeps on the real groups
                       (default 0.75; similar groups are shown for review, never acted on alone)
  --holdout FILE       held-out photo list (default models/train/holdout.txt, paths under
                       ../shared/datasets/train)
  --originals N        originals of the synthetic set (default 150)
  --distractors N      unrelated held-out photos (default 400)
  --seed N             seed of the selection and the edits (default 3)
  --model DIR          model folder (default: the app's default model)
  --baselines-only     skip the model (for measuring the hashes alone)
  --out DIR            scratch and results folder (default .eval)`;

interface Options {
  calibrate: boolean;
  similarPrecision: number;
  holdout: string;
  originals: number;
  distractors: number;
  seed: number;
  model: string | undefined;
  baselinesOnly: boolean;
  out: string;
}

interface Timings {
  [step: string]: number;
}

/** Item lists and layouts of both sets, indexed the way methods see them. */
interface Sets {
  synthetic: SyntheticSet;
  syntheticFiles: string[];
  syntheticLayout: SyntheticLayout;
  real: RealSet | null;
  realFiles: string[];
  realLayout: RealLayout;
}

type ModelModule = typeof import('./model');

async function main(): Promise<number> {
  const root = findRepoRoot();
  const options = readOptions(root);
  if (options === 'help') return 0;
  if (!options) return 2;
  const timings: Timings = {};
  const started = performance.now();
  const log = (line: string): void => void process.stderr.write(`${line}\n`);

  if (!existsSync(options.holdout)) {
    log(`${options.holdout} not found: the training pipeline writes the list of photos it held`);
    log(
      'out; run it first, or pass --holdout FILE (one path under ../shared/datasets/train a line).',
    );
    return 2;
  }
  const sets = await loadSets(root, options, log, timings);
  const methods = await measureMethods(sets, options, log, timings);
  if (!methods) return 1;

  const scoringStart = performance.now();
  const { rows, pooled } = scoreAll(sets, methods.synthetic, methods.real);
  timings.scoringSeconds = secondsSince(scoringStart);
  timings.totalSeconds = secondsSince(started);

  const names = methods.synthetic.map((m) => m.name);
  const calibration =
    options.calibrate && methods.model
      ? calibrate(pooled, sets, methods, options.similarPrecision)
      : undefined;
  await writeResults(options, sets, rows, names, methods, timings, calibration);
  printResults(rows, names, methods, timings, calibration, log);
  return 0;
}

function readOptions(root: string): Options | 'help' | null {
  const { values } = parseArgs({
    options: {
      calibrate: { type: 'boolean', default: false },
      'similar-precision': { type: 'string', default: '0.75' },
      holdout: { type: 'string', default: path.join(root, 'models/train/holdout.txt') },
      originals: { type: 'string', default: '150' },
      distractors: { type: 'string', default: '400' },
      seed: { type: 'string', default: '3' },
      model: { type: 'string' },
      'baselines-only': { type: 'boolean', default: false },
      out: { type: 'string', default: path.join(root, '.eval') },
      help: { type: 'boolean', default: false },
    },
  });
  const counts = [values.originals, values.distractors, values.seed].map(Number);
  const similarPrecision = Number(values['similar-precision']);
  const badPrecision = !(similarPrecision > 0 && similarPrecision <= 1);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 'help';
  }
  if (badPrecision || counts.some((n) => !Number.isInteger(n) || n < 0)) {
    process.stderr.write(`${USAGE}\n`);
    return null;
  }
  return {
    calibrate: values.calibrate,
    similarPrecision,
    holdout: path.resolve(values.holdout),
    originals: counts[0],
    distractors: counts[1],
    seed: counts[2],
    model: values.model === undefined ? undefined : path.resolve(values.model),
    baselinesOnly: values['baselines-only'],
    out: path.resolve(values.out),
  };
}

async function loadSets(
  root: string,
  options: Options,
  log: (line: string) => void,
  timings: Timings,
): Promise<Sets> {
  const datasets = path.resolve(root, '../shared/datasets');
  const start = performance.now();
  const synthetic = await prepareSyntheticSet(
    {
      trainDir: path.join(datasets, 'train'),
      holdoutFile: options.holdout,
      outDir: path.join(options.out, 'synthetic'),
      originals: options.originals,
      distractors: options.distractors,
      seed: options.seed,
    },
    log,
  );
  timings.syntheticSetSeconds = secondsSince(start);
  const real = await loadRealSet(path.join(datasets, 'dev-eval'), log);
  return { synthetic, real, ...layoutSynthetic(synthetic), ...layoutReal(real) };
}

function layoutSynthetic(set: SyntheticSet): Pick<Sets, 'syntheticFiles' | 'syntheticLayout'> {
  const files = [...set.originals, ...set.distractors];
  const layout: SyntheticLayout = {
    originals: set.originals.map((_, i) => i),
    distractors: set.distractors.map((_, i) => set.originals.length + i),
    copies: {},
  };
  for (const kind of SYNTHETIC_KINDS) {
    layout.copies[kind] = set.copies[kind].map((file) =>
      file === null ? null : files.push(file) - 1,
    );
  }
  return { syntheticFiles: files, syntheticLayout: layout };
}

function layoutReal(set: RealSet | null): Pick<Sets, 'realFiles' | 'realLayout'> {
  const files: string[] = [];
  const layout: RealLayout = { groups: [], distractors: [] };
  if (!set) return { realFiles: files, realLayout: layout };
  for (const group of set.groups) {
    layout.groups.push({
      kind: group.kind,
      members: group.files.map((file) => files.push(file) - 1),
    });
  }
  layout.distractors = set.distractors.map((file) => files.push(file) - 1);
  return { realFiles: files, realLayout: layout };
}

interface Methods {
  synthetic: Method[];
  real: Method[];
  model?: { nearDuplicate: number; similar: number; photosPerSecond: number; failures: number };
}

async function measureMethods(
  sets: Sets,
  options: Options,
  log: (line: string) => void,
  timings: Timings,
): Promise<Methods | null> {
  const files = [...sets.syntheticFiles, ...sets.realFiles];
  const split = sets.syntheticFiles.length;
  log(`hashing ${files.length} photos for the baselines`);
  const hashStart = performance.now();
  const records = await hashPhotos(files, path.join(options.out, 'heic-png'));
  timings.baselineSeconds = secondsSince(hashStart);
  timings.baselinePhotosPerSecond = files.length / timings.baselineSeconds;
  const failed = records.filter((r) => !r.ok).length;
  if (failed > 0) log(`baselines: ${failed} photos could not be decoded (they match nothing)`);
  const methods: Methods = {
    synthetic: createBaselineMethods(records.slice(0, split)),
    real: createBaselineMethods(records.slice(split)),
  };
  if (options.baselinesOnly) return methods;

  let modelModule: ModelModule;
  try {
    modelModule = await import('./model.js');
  } catch (error) {
    log(`model: cannot load the model pipeline: ${(error as Error).message}`);
    return null;
  }
  return addModel(modelModule, methods, sets, options, log, timings);
}

async function addModel(
  modelModule: ModelModule,
  methods: Methods,
  sets: Sets,
  options: Options,
  log: (line: string) => void,
  timings: Timings,
): Promise<Methods | null> {
  let handle;
  try {
    handle = await modelModule.openModel(options.model);
  } catch (error) {
    log(`model: cannot open it: ${(error as Error).message} (use --baselines-only to skip it)`);
    return null;
  }
  try {
    const { thresholds } = handle.model.card;
    const total = sets.syntheticFiles.length + sets.realFiles.length;
    log(`model: embedding ${total} photos (views: ${handle.model.card.views.join(', ')})`);
    const progress = (done: number): void => {
      if (done % 400 < 16) log(`model: ${done} photos`);
    };
    const synthetic = await handle.embed(sets.syntheticFiles, progress);
    const real = await handle.embed(sets.realFiles, progress);
    const failures = [...synthetic.failures, ...real.failures];
    for (const failure of failures.slice(0, 5)) log(`model: ${failure.file}: ${failure.reason}`);
    if (failures.length > 0) log(`model: ${failures.length} photos could not be decoded`);
    const { timing } = handle;
    timings.modelSeconds = timing.seconds;
    timings.modelDecodeSeconds = timing.decodeSeconds;
    timings.modelNetworkSeconds = timing.networkSeconds;
    timings.modelPhotosPerSecond = timing.photos / timing.seconds;
    methods.synthetic.unshift(modelModule.createModelMethod(synthetic, thresholds));
    methods.real.unshift(modelModule.createModelMethod(real, thresholds));
    methods.model = {
      ...thresholds,
      photosPerSecond: timings.modelPhotosPerSecond,
      failures: failures.length,
    };
    return methods;
  } finally {
    await handle.dispose();
  }
}

function scoreAll(
  sets: Sets,
  syntheticMethods: Method[],
  realMethods: Method[],
): { rows: ResultRow[]; pooled: Map<string, { synthetic: PooledPairs; real: PooledPairs }> } {
  const pooled = new Map<string, { synthetic: PooledPairs; real: PooledPairs }>();
  const syntheticScores = new Map<string, Map<string, KindScore>>();
  const realScores = new Map<string, Map<string, KindScore>>();
  syntheticMethods.forEach((method, m) => {
    const synthetic = scoreSynthetic(method, sets.syntheticLayout);
    const real = scoreReal(realMethods[m], sets.realLayout);
    syntheticScores.set(method.name, synthetic.byKind);
    realScores.set(method.name, real.byKind);
    pooled.set(method.name, { synthetic: synthetic.pooled, real: real.pooled });
  });

  const names = syntheticMethods.map((m) => m.name);
  const rowOf = (
    kind: string,
    set: ResultRow['set'],
    source: Map<string, Map<string, KindScore>>,
  ) => ({
    kind,
    set,
    goal: GOALS[kind] ?? null,
    scores: Object.fromEntries(names.map((name) => [name, source.get(name)?.get(kind)])),
  });
  const rows: ResultRow[] = SYNTHETIC_KINDS.filter((kind) =>
    syntheticScores.get(names[0])?.has(kind),
  ).map((kind) => rowOf(kind, 'synthetic', syntheticScores));
  rows.push({
    kind: 'mean (synthetic)',
    set: 'synthetic',
    goal: null,
    scores: Object.fromEntries(
      names.map((name) => [name, meanScore([...(syntheticScores.get(name)?.values() ?? [])])]),
    ),
  });
  for (const kind of REAL_KINDS) {
    if (realScores.get(names[0])?.has(kind)) rows.push(rowOf(kind, 'real', realScores));
  }
  return { rows, pooled };
}

interface Calibration {
  nearDuplicate: Suggestion;
  similar: Suggestion;
  /** The model's pair figures per kind were the card to carry the suggested thresholds. */
  atSuggested: { kind: string; precision: number; recall: number }[];
}

interface Suggestion {
  value: number | null;
  point: OperatingPoint;
  note: string;
}

/**
 * Suggested card thresholds from the model's pooled distances: nearDuplicate keeps synthetic pair
 * precision >= 0.99 over all kinds at once; similar finds the most real-group pairs at
 * `similarPrecision` (or at the best precision reachable), and is never below nearDuplicate.
 */
function calibrate(
  pooled: Map<string, { synthetic: PooledPairs; real: PooledPairs }>,
  sets: Sets,
  methods: Methods,
  similarPrecision: number,
): Calibration {
  const model = pooled.get('model')!;
  const near = bestAtPrecision(
    model.synthetic.positives,
    model.synthetic.negatives,
    FAIR_PRECISION,
  );
  const nearValue = between(near);
  const nearDuplicate: Suggestion = {
    value: nearValue,
    point: near,
    note: `largest distance with pooled synthetic pair precision >= ${FAIR_PRECISION}`,
  };

  let real = bestAtPrecision(model.real.positives, model.real.negatives, similarPrecision);
  let note = `most real-group pairs at pair precision >= ${similarPrecision}`;
  if (real.threshold === null) {
    real = bestPrecision(model.real.positives, model.real.negatives);
    note = `precision ${similarPrecision} is out of reach on the real groups; best precision reachable`;
  }
  let similarValue = between(real);
  if (nearValue !== null && (similarValue === null || similarValue < nearValue)) {
    similarValue = nearValue;
    note += '; raised to nearDuplicate, which it may not undercut';
  }
  const similar = { value: similarValue, point: real, note };
  return { nearDuplicate, similar, atSuggested: figuresAt(nearValue, similarValue, sets, methods) };
}

function figuresAt(
  nearDuplicate: number | null,
  similar: number | null,
  sets: Sets,
  methods: Methods,
): Calibration['atSuggested'] {
  const synthetic = methods.synthetic.find((m) => m.name === 'model');
  const real = methods.real.find((m) => m.name === 'model');
  if (!synthetic || !real || nearDuplicate === null || similar === null) return [];
  const scores = [
    ...scoreSynthetic({ ...synthetic, nearDuplicate }, sets.syntheticLayout).byKind,
    ...scoreReal({ ...real, similar }, sets.realLayout).byKind,
  ];
  return scores.map(([kind, s]) => ({ kind, precision: s.precision, recall: s.recall }));
}

/** A round threshold between the last accepted distance and the next one. */
function between(point: OperatingPoint): number | null {
  if (point.threshold === null) return null;
  if (!Number.isFinite(point.nextDistance)) return point.threshold;
  const mid = (point.threshold + point.nextDistance) / 2;
  for (const digits of [2, 3, 4, 5, 6]) {
    const rounded = Number(mid.toFixed(digits));
    if (rounded >= point.threshold && rounded < point.nextDistance) return rounded;
  }
  return point.threshold;
}

function thresholdLines(methods: Methods): string[] {
  const lines = [
    `thresholds: pHash Hamming <= ${BASELINE_THRESHOLDS.pHash}, dHash Hamming <= ${BASELINE_THRESHOLDS.dHash}, ` +
      'blocks similarity >= 95 (mean block difference < 6, dupeGuru default filter hardness)',
  ];
  if (methods.model) {
    lines.push(
      `model (card): nearDuplicate ${methods.model.nearDuplicate} (synthetic kinds), ` +
        `similar ${methods.model.similar} (real groups; a pair counts as found when its distance <= similar)`,
    );
  }
  return lines;
}

function timingLines(timings: Timings): string[] {
  const f = (n: number | undefined, digits = 1): string =>
    n === undefined ? '-' : n.toFixed(digits);
  const lines = [
    `timings: synthetic set ${f(timings.syntheticSetSeconds)} s, baselines ${f(timings.baselineSeconds)} s ` +
      `(${f(timings.baselinePhotosPerSecond)} photos/s), scoring ${f(timings.scoringSeconds)} s, ` +
      `total ${f(timings.totalSeconds)} s`,
  ];
  if (timings.modelSeconds !== undefined) {
    lines.push(
      `model pipeline: ${f(timings.modelPhotosPerSecond)} photos/s (decode + views + network + head; ` +
        `${f(timings.modelSeconds)} s, of which decode ${f(timings.modelDecodeSeconds)} s, ` +
        `network and head ${f(timings.modelNetworkSeconds)} s)`,
    );
  }
  return lines;
}

function calibrationLines(calibration: Calibration): string[] {
  const d = (n: number | null): string => (n === null ? '-' : n.toFixed(4));
  const line = (name: string, s: Suggestion): string =>
    `  ${name}: ${s.value ?? 'none'} (${s.note}: recall ${s.point.recall.toFixed(3)}, precision ` +
    `${Number.isNaN(s.point.precision) ? '-' : s.point.precision.toFixed(3)}; pairs accepted up ` +
    `to ${d(s.point.threshold)}, next pair at ${d(s.point.nextDistance)})`;
  const figures = calibration.atSuggested.map(
    (f) => `${f.kind} ${formatFigure(f.recall, 2)}/${formatFigure(f.precision, 2)}`,
  );
  return [
    'suggested thresholds for the card:',
    line('nearDuplicate', calibration.nearDuplicate),
    line('similar', calibration.similar),
    `  model recall/precision per kind at these thresholds: ${figures.join(', ')}`,
  ];
}

function printResults(
  rows: ResultRow[],
  names: string[],
  methods: Methods,
  timings: Timings,
  calibration: Calibration | undefined,
  log: (line: string) => void,
): void {
  const out = [
    formatTextTable(rows, names),
    '',
    LEGEND,
    ...thresholdLines(methods),
    ...timingLines(timings),
  ];
  if (calibration) out.push(...calibrationLines(calibration));
  process.stdout.write(`${out.join('\n')}\n`);
  if (!methods.model) log('model: not measured (baselines only)');
}

async function writeResults(
  options: Options,
  sets: Sets,
  rows: ResultRow[],
  names: string[],
  methods: Methods,
  timings: Timings,
  calibration: Calibration | undefined,
): Promise<void> {
  await mkdir(options.out, { recursive: true });
  const json = {
    generatedAt: new Date().toISOString(),
    options,
    sets: describeSets(sets),
    thresholds: {
      model: methods.model
        ? { nearDuplicate: methods.model.nearDuplicate, similar: methods.model.similar }
        : null,
      ...BASELINE_THRESHOLDS,
    },
    legend: LEGEND,
    rows,
    timings,
    modelDecodeFailures: methods.model?.failures ?? null,
    calibration: calibration ?? null,
  };
  await writeFile(path.join(options.out, 'results.json'), `${JSON.stringify(json, null, 1)}\n`);
  const markdown = [
    formatMarkdownTable(rows, names),
    '',
    LEGEND,
    '',
    ...thresholdLines(methods).map((l) => `- ${l}`),
    ...timingLines(timings).map((l) => `- ${l}`),
    `- sets: ${describeSetsLine(sets)}`,
  ];
  await writeFile(path.join(options.out, 'results.md'), `${markdown.join('\n')}\n`);
}

function describeSets(sets: Sets): Record<string, unknown> {
  const { synthetic, real } = sets;
  return {
    synthetic: {
      heldOutPhotos: synthetic.holdoutCount,
      originals: synthetic.originals.length,
      distractors: synthetic.distractors.length,
      copies: Object.fromEntries(
        SYNTHETIC_KINDS.map((kind) => [
          kind,
          synthetic.copies[kind].filter((c) => c !== null).length,
        ]),
      ),
      skippedKinds: synthetic.skippedKinds,
      unreadableHeldOut: synthetic.unreadable.length,
    },
    real: real
      ? {
          groups: real.groups.map((g) => ({ kind: g.kind, name: g.name, photos: g.files.length })),
          distractors: real.distractors.length,
          missing: real.missing.length,
        }
      : null,
  };
}

function describeSetsLine(sets: Sets): string {
  const { synthetic, real } = sets;
  const copies = SYNTHETIC_KINDS.reduce(
    (sum, kind) => sum + synthetic.copies[kind].filter((c) => c !== null).length,
    0,
  );
  const realPart = real
    ? `; real: ${real.groups.length} groups (${real.groups.reduce((s, g) => s + g.files.length, 0)} photos) ` +
      `and ${real.distractors.length} distractors from dev-eval`
    : '; real: dev-eval absent';
  return (
    `synthetic: ${synthetic.originals.length} held-out originals, ${copies} copies, ` +
    `${synthetic.distractors.length} held-out distractors${realPart}`
  );
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `eval failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
