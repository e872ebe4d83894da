/**
 * Fine-tunes the head on the user's labels over cached features (no photo is decoded), checks the
 * result on held-out labels and on the generic evaluation shipped with the model, and adopts it
 * only when it is better for the user and no worse in general.
 */
import type { Head } from '../../core/head';
import {
  cloneParams,
  fitHead,
  normaliseRows,
  rankingAccuracy,
  VIRTUAL,
  type HeadParams,
  type TripletSet,
} from '../../core/triplet';
import type { Db } from '../db/database';
import { PhotoRepository } from '../db/photo.repository';
import { createLogger } from '../log/logger';
import type { LoadedModel } from '../ml/model-loader';
import { currentThresholds } from '../scan/grouping.service';
import { loadGenericTriplets } from './generic-triplets';
import { backendLinearOps, createHeadBackend, type HeadBackend } from '../ml/head-runner';
import { HeadRepository, SHIPPED_VERSION } from './head.repository';
import { currentModel, refreshForHead, type LearnProgress } from './head.service';
import { LabelRepository, type Label } from './label.repository';

const log = createLogger('train');

/**
 * Held-out rule: a triplet is held out when a hash of its photos is 0 mod 4 (a quarter), so it
 * stays on its side as labels are added; at least MIN_HELD_OUT are held out and at least
 * MIN_TRAINING are trained on, so fewer than MIN_LABELS distinct triplets do not train at all.
 */
export const HELD_OUT_MODULUS = 4;
export const MIN_HELD_OUT = 2;
export const MIN_TRAINING = 4;
export const MIN_LABELS = MIN_HELD_OUT + MIN_TRAINING;
/** Most a new head may lose on the generic evaluation (share of triplets) and still be adopted. */
export const GENERIC_TOLERANCE = 0.01;
/** Share of labels in contradicting pairs above which training is refused. */
export const MAX_CONTRADICTION_SHARE = 0.2;

/** Training settings; the defaults suit the shipped head's scale (see resolveSettings). */
export interface TrainSettings {
  /** Hinge margin in embedding distance. */
  margin: number;
  /** Regulariser strength relative to the shipped weights' squared norm. */
  relativeLambda: number;
  /** Adam step size relative to the root-mean-square shipped weight. */
  relativeLearningRate: number;
  /** Most Adam steps; training stops earlier after `patience` steps without a 0.1% gain. */
  steps: number;
  patience: number;
}

/**
 * Tuned on synthetic simulated users (test/integration/learn.test.ts); the relative forms keep them
 * valid for any head size and feature scale.
 */
export const DEFAULT_TRAIN_SETTINGS: TrainSettings = {
  margin: 0.2,
  relativeLambda: 0.3,
  relativeLearningRate: 0.02,
  steps: 120,
  patience: 15,
};

/** What `doppel train --json` prints. */
export interface TrainReport {
  /** Share of held-out triplets ranked right, by the current head and by the new one. */
  heldOut: { before: number; after: number } | null;
  /** Share of the shipped generic triplets ranked right (null when the model ships none). */
  generic: { before: number; after: number; shipped: number } | null;
  adopted: boolean;
  /** The new head's version when adopted; else the version still current. */
  version: number;
  reason?: string;
  labels: {
    total: number;
    distinct: number;
    trained: number;
    heldOut: number;
    /** Labels whose photos have no cached features for this network (not rescanned yet). */
    skipped: number;
    contradicting: number;
  };
  embedded: number;
  seconds: { training: number; total: number };
}

/** One distinct triplet over content hashes (null = virtual partner at the grouping threshold). */
interface DistinctTriplet {
  query: string;
  better: string | null;
  worse: string | null;
  weight: number;
  /** Same for a triplet and its reverse, so both land on the same side of the split. */
  sideKey: string;
}

/**
 * Trains a head from every label, measures it and adopts it when it passes the guard: better on
 * the held-out labels, within GENERIC_TOLERANCE of the shipped head on the generic evaluation, and
 * labels not mostly contradicting each other. On adoption the head is stored as a new version,
 * made current, and embeddings and groups are refreshed.
 */
export async function trainFromLabels(
  db: Db,
  shipped: LoadedModel,
  opts: {
    settings?: Partial<TrainSettings>;
    backend?: HeadBackend;
    onProgress?: (p: LearnProgress) => void;
  } = {},
): Promise<TrainReport> {
  const started = performance.now();
  const settings = resolveSettings(shipped, opts.settings);
  const heads = new HeadRepository(db);
  const current = currentModel(db, shipped);
  const currentVersion = current.head === shipped.head ? SHIPPED_VERSION : heads.currentVersion();
  const tau = currentThresholds(new PhotoRepository(db), shipped).similar;
  opts.onProgress?.({ phase: 'loading', done: 0, total: 1 });

  const labels = new LabelRepository(db).listLabels();
  const distinct = distinctTriplets(labels);
  const features = loadIdentityFeatures(db, shipped, distinct);
  const usable = distinct.filter((t) =>
    [t.query, t.better, t.worse].every((h) => h === null || features.has(h)),
  );
  const contradicting = countContradicting(usable);
  const split = splitHeldOut(usable);
  const report: TrainReport = {
    heldOut: null,
    generic: null,
    adopted: false,
    version: currentVersion,
    labels: {
      total: labels.length,
      distinct: distinct.length,
      trained: split?.train.length ?? 0,
      heldOut: split?.heldOut.length ?? 0,
      skipped: distinct.length - usable.length,
      contradicting,
    },
    embedded: 0,
    seconds: { training: 0, total: 0 },
  };
  const finish = (reason?: string): TrainReport => {
    if (reason) report.reason = reason;
    report.seconds.total = round((performance.now() - started) / 1000, 3);
    opts.onProgress?.({ phase: 'done', done: 1, total: 1 });
    return report;
  };
  if (!split) {
    return finish(
      `too few labels to train: ${usable.length} distinct triplets with cached features, ` +
        `need at least ${MIN_LABELS} (${MIN_TRAINING} to learn from and ${MIN_HELD_OUT} to check)`,
    );
  }

  const backend = opts.backend ?? (await createHeadBackend());
  try {
    const trainSet = toTripletSet(split.train, features, shipped.head.inDims);
    const heldOutSet = toTripletSet(split.heldOut, features, shipped.head.inDims);
    const trainStarted = performance.now();
    const trained = await fit(backend, shipped.head, trainSet, settings, tau, opts.onProgress);
    report.seconds.training = round((performance.now() - trainStarted) / 1000, 3);

    opts.onProgress?.({ phase: 'evaluating', done: 0, total: 1 });
    report.heldOut = {
      before: round(await accuracy(backend, current.head, heldOutSet, tau)),
      after: round(await accuracy(backend, trained, heldOutSet, tau)),
    };
    const generic = loadGenericTriplets(
      shipped.dir,
      shipped.card.networkVersion,
      shipped.head.inDims,
    );
    if (generic.ok) {
      report.generic = {
        before: round(await accuracy(backend, current.head, generic.set, tau)),
        after: round(await accuracy(backend, trained, generic.set, tau)),
        shipped: round(await accuracy(backend, shipped.head, generic.set, tau)),
      };
    }

    const refusal = adoptionRefusal(report, usable.length, generic.ok ? null : generic.reason);
    if (refusal) return finish(refusal);

    const version = heads.insert(
      {
        createdAt: new Date().toISOString(),
        parent: currentVersion,
        networkVersion: shipped.card.networkVersion,
        baseHead: shipped.head.version,
        inDims: trained.inDims,
        outDims: trained.outDims,
        metrics: {
          heldOut: report.heldOut,
          generic: report.generic && { before: report.generic.before, after: report.generic.after },
          trained: split.train.length,
          heldOutCount: split.heldOut.length,
          seconds: report.seconds.training,
        },
      },
      trained.weight,
      trained.bias,
    );
    heads.setCurrentVersion(version);
    report.adopted = true;
    report.version = version;
    const refreshed = await refreshForHead(db, currentModel(db, shipped), {
      backend,
      onProgress: opts.onProgress,
    });
    report.embedded = refreshed.embedded;
    return finish();
  } finally {
    if (!opts.backend) await backend.dispose();
  }
}

/** The first guard the new head fails, as a sentence; null when it may be adopted. */
function adoptionRefusal(
  report: TrainReport,
  usable: number,
  genericMissing: string | null,
): string | null {
  const { contradicting } = report.labels;
  if (contradicting > 0 && contradicting / usable > MAX_CONTRADICTION_SHARE) {
    return (
      `${contradicting} of ${usable} labels contradict each other (the same photos ranked both ` +
      `ways), so they cannot teach a consistent head`
    );
  }
  const held = report.heldOut!;
  if (!(held.after > held.before)) {
    return `held-out accuracy did not improve (${fmt(held.before)} -> ${fmt(held.after)})`;
  }
  if (genericMissing) return `${genericMissing}, so a new head cannot be checked`;
  const generic = report.generic!;
  if (generic.after < generic.shipped - GENERIC_TOLERANCE) {
    return (
      `generic accuracy would fall from ${fmt(generic.shipped)} (shipped head) to ` +
      `${fmt(generic.after)}, more than the ${GENERIC_TOLERANCE} allowed`
    );
  }
  return null;
}

/** Settings with defaults; the card's training gap (margin) is used when it states one. */
function resolveSettings(
  model: LoadedModel,
  overrides: Partial<TrainSettings> = {},
): TrainSettings {
  // The card's `gap` is the margin the shipped head was trained with; keep the same hinge.
  const cardMargin = model.card.training?.gap ?? model.card.training?.margin;
  const margin =
    typeof cardMargin === 'number' && cardMargin > 0 && cardMargin < 2
      ? cardMargin
      : DEFAULT_TRAIN_SETTINGS.margin;
  return { ...DEFAULT_TRAIN_SETTINGS, margin, ...overrides };
}

/** Full-batch Adam from the shipped head, pulled toward it; scale-free step and pull. */
async function fit(
  backend: HeadBackend,
  shippedHead: Head,
  set: TripletSet,
  settings: TrainSettings,
  tau: number,
  onProgress?: (p: LearnProgress) => void,
): Promise<HeadParams> {
  const anchor = cloneParams(shippedHead);
  let norm2 = 0;
  for (const w of anchor.weight) norm2 += w * w;
  for (const b of anchor.bias) norm2 += b * b;
  const rms = Math.sqrt(norm2 / (anchor.weight.length + anchor.bias.length)) || 1;
  const result = await fitHead(anchor, set, {
    margin: settings.margin,
    virtualDistance: tau,
    lambda: settings.relativeLambda / (norm2 || 1),
    anchor,
    steps: settings.steps,
    patience: settings.patience,
    learningRate: settings.relativeLearningRate * rms,
    linear: backendLinearOps(backend, set.features, set.rows, set.inDims),
    onStep: (step) => {
      if (step % 10 === 0 || step === settings.steps) {
        onProgress?.({ phase: 'training', done: step, total: settings.steps });
      }
    },
  });
  onProgress?.({ phase: 'training', done: settings.steps, total: settings.steps });
  log.debug(
    `objective ${result.initialLoss.toFixed(4)} -> ${result.loss.toFixed(4)} in ${result.steps} steps`,
  );
  return result.params;
}

async function accuracy(
  backend: HeadBackend,
  params: HeadParams,
  set: TripletSet,
  tau: number,
): Promise<number> {
  const z = await backend.linear(params, set.features, set.rows);
  const { y } = normaliseRows(z, set.rows, params.outDims);
  return rankingAccuracy(y, params.outDims, set, tau);
}

/**
 * Merges labels into distinct triplets (the same triplet from two sources keeps the larger
 * weight). A pair label is written with the smaller hash as query, since a pair has no direction.
 */
function distinctTriplets(labels: Label[]): DistinctTriplet[] {
  const map = new Map<string, DistinctTriplet>();
  for (const label of labels) {
    let query = label.query.hash;
    let better = label.better?.hash ?? null;
    let worse = label.worse?.hash ?? null;
    const other = better ?? worse!;
    if ((better === null || worse === null) && other < query) {
      [query, better, worse] = [other, better && query, worse && query];
    }
    const key = `${query}|${better ?? ''}|${worse ?? ''}`;
    const partners = [better ?? '', worse ?? ''].sort();
    const existing = map.get(key);
    if (existing) existing.weight = Math.max(existing.weight, label.weight);
    else
      map.set(key, {
        query,
        better,
        worse,
        weight: label.weight,
        sideKey: `${query}|${partners.join('|')}`,
      });
  }
  return [...map.values()];
}

/** Number of triplets whose reverse (better and worse swapped) is also labelled. */
function countContradicting(triplets: DistinctTriplet[]): number {
  const bySide = new Map<string, number>();
  for (const t of triplets) bySide.set(t.sideKey, (bySide.get(t.sideKey) ?? 0) + 1);
  return triplets.filter((t) => bySide.get(t.sideKey)! > 1).length;
}

/** The deterministic held-out split (see HELD_OUT_MODULUS); null when there are too few. */
function splitHeldOut(
  triplets: DistinctTriplet[],
): { train: DistinctTriplet[]; heldOut: DistinctTriplet[] } | null {
  const sides = [...new Set(triplets.map((t) => t.sideKey))]
    .map((key) => ({ key, hash: fnv1a(key) }))
    .sort((a, b) => a.hash - b.hash || (a.key < b.key ? -1 : 1));
  if (sides.length < MIN_LABELS) return null;
  const held = new Set(sides.filter((s) => s.hash % HELD_OUT_MODULUS === 0).map((s) => s.key));
  for (const s of sides) {
    if (held.size >= MIN_HELD_OUT) break;
    held.add(s.key);
  }
  for (const s of [...sides].reverse()) {
    if (sides.length - held.size >= MIN_TRAINING) break;
    held.delete(s.key);
  }
  return {
    train: triplets.filter((t) => !held.has(t.sideKey)),
    heldOut: triplets.filter((t) => held.has(t.sideKey)),
  };
}

/**
 * Identity-view features of the current network for every photo the triplets name.
 * Limitation: only the identity view is trained on; the mirror and rotated views share the
 * head, so they follow, but a label about a flipped copy teaches through the identity view only.
 * Labels whose photos have no features for this network (after a model update, before a rescan)
 * are skipped and counted in `labels.skipped`.
 */
function loadIdentityFeatures(
  db: Db,
  model: LoadedModel,
  triplets: DistinctTriplet[],
): Map<string, Float32Array> {
  const hashes = new Set<string>();
  for (const t of triplets) for (const h of [t.query, t.better, t.worse]) if (h) hashes.add(h);
  const rows = db
    .prepare<[string, string], { content_hash: string; data: Buffer }>(
      `SELECT content_hash, data FROM features
       WHERE network_version = ? AND view = 'identity'
         AND content_hash IN (SELECT value FROM json_each(?))`,
    )
    .all(model.card.networkVersion, JSON.stringify([...hashes]));
  const out = new Map<string, Float32Array>();
  for (const r of rows) {
    if (r.data.byteLength !== model.head.inDims * 4) continue;
    const values = new Float32Array(model.head.inDims);
    new Uint8Array(values.buffer).set(r.data);
    out.set(r.content_hash, values);
  }
  return out;
}

/** A compact TripletSet: one feature row per photo the triplets use. */
function toTripletSet(
  triplets: DistinctTriplet[],
  features: Map<string, Float32Array>,
  inDims: number,
): TripletSet {
  const rowOf = new Map<string, number>();
  const row = (hash: string | null): number => {
    if (hash === null) return VIRTUAL;
    let r = rowOf.get(hash);
    if (r === undefined) rowOf.set(hash, (r = rowOf.size));
    return r;
  };
  const query = Int32Array.from(triplets.map((t) => row(t.query)));
  const better = Int32Array.from(triplets.map((t) => row(t.better)));
  const worse = Int32Array.from(triplets.map((t) => row(t.worse)));
  const table = new Float32Array(rowOf.size * inDims);
  for (const [hash, r] of rowOf) table.set(features.get(hash)!, r * inDims);
  return {
    features: table,
    rows: rowOf.size,
    inDims,
    query,
    better,
    worse,
    weight: Float32Array.from(triplets.map((t) => t.weight)),
  };
}

/**
 * 32-bit FNV-1a of a string with MurmurHash3's final mix: stable across runs and platforms. The
 * mix matters: FNV's low bits depend only on the characters' low bits, so `% 4` alone would split
 * hex hashes unevenly.
 */
function fnv1a(text: string): number {
  let hash = 2166136261;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619);
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

function round(n: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function fmt(n: number): string {
  return n.toFixed(2);
}
