/**
 * Learning from the user over a real SQLite cache filled with synthetic features: labels, implicit
 * decisions, export/import, training with its adoption guard, simulated users whose idea of a
 * duplicate differs from the shipped head's, and head versions with revert.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppError } from '../../src-main/contract/errors';
import { normaliseRows, rankingAccuracy } from '../../src-main/core/triplet';
import { openDatabase, type Db } from '../../src-main/engine/db/database';
import { CompanionRepository } from '../../src-main/engine/db/companion.repository';
import { PhotoRepository } from '../../src-main/engine/db/photo.repository';
import { currentThresholds, rebuildGroups } from '../../src-main/engine/scan/grouping.service';
import { HeadRepository, headKey } from '../../src-main/engine/learn/head.repository';
import {
  currentModel,
  listHeads,
  parseHeadVersion,
  refreshForHead,
  switchHead,
} from '../../src-main/engine/learn/head.service';
import {
  LabelRepository,
  excludedPairs,
  type PhotoRef,
} from '../../src-main/engine/learn/label.repository';
import {
  addTriplet,
  exportLabels,
  exportLabelsToFile,
  importLabelsFromFile,
  markNotDuplicate,
  recordKeepAll,
  recordSplit,
  recordTrashConfirmed,
} from '../../src-main/engine/learn/labels.service';
import { writeGenericTriplets } from '../../src-main/engine/learn/generic-triplets';
import { MIN_LABELS, trainFromLabels } from '../../src-main/engine/learn/train.service';
import type { LoadedModel } from '../../src-main/engine/ml/model-loader';
import {
  EMBED_DIMS,
  FEATURE_DIMS,
  NETWORK_VERSION,
  hashOf,
  makeScenes,
  seedLibrary,
  shippedHead,
  writeSyntheticModel,
  type SyntheticPhoto,
} from './learn-fixtures';

let tmp: string;
let db: Db;

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'doppel-learn-'));
  db = openDatabase(path.join(tmp, 'cache.sqlite'));
});

afterEach(() => {
  db.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface Library {
  model: LoadedModel;
  labelled: SyntheticPhoto[];
  unlabelled: SyntheticPhoto[];
  paths: Map<string, string>;
  ref: (p: SyntheticPhoto) => PhotoRef;
}

/** A library of `labelledScenes + unlabelledScenes` scenes, scanned and embedded by the shipped head. */
async function library(labelledScenes: number, unlabelledScenes = 40): Promise<Library> {
  const labelled = makeScenes(labelledScenes, 7);
  const unlabelled = makeScenes(unlabelledScenes, 99).map((p) => ({
    ...p,
    name: `other-${p.name}`,
    scene: p.scene + 1000,
  }));
  const model = writeSyntheticModel(path.join(tmp, 'model'), shippedHead(1), makeScenes(60, 555));
  const paths = seedLibrary(db, path.join(tmp, 'photos'), [...labelled, ...unlabelled]);
  await refreshForHead(db, model);
  return {
    model,
    labelled,
    unlabelled,
    paths,
    ref: (p) => ({ hash: hashOf(p), path: paths.get(p.name)! }),
  };
}

/** Burst-frame triplets (original, edited copy, other burst frame) of `photos`. */
function burstTriplets(
  photos: SyntheticPhoto[],
): [SyntheticPhoto, SyntheticPhoto, SyntheticPhoto][] {
  const out: [SyntheticPhoto, SyntheticPhoto, SyntheticPhoto][] = [];
  for (let i = 0; i < photos.length; i += 3) out.push([photos[i], photos[i + 1], photos[i + 2]]);
  return out;
}

/** Share of `triplets` the stored embeddings of `head` rank right (edited copy closer than the burst frame). */
function storedAccuracy(
  headVersion: string,
  triplets: [SyntheticPhoto, SyntheticPhoto, SyntheticPhoto][],
): number {
  const emb = new PhotoRepository(db).allEmbeddings(headVersion);
  const rows = triplets.flat();
  const y = new Float64Array(rows.length * EMBED_DIMS);
  rows.forEach((p, i) => y.set(emb.get(hashOf(p))!.get('identity')!, i * EMBED_DIMS));
  const idx = (o: number): Int32Array => Int32Array.from(triplets.map((_, t) => t * 3 + o));
  return rankingAccuracy(y, EMBED_DIMS, { query: idx(0), better: idx(1), worse: idx(2) }, 0);
}

/** Pairs (original, burst frame) of `triplets` that share a stored group. */
function groupedBurstPairs(
  triplets: [SyntheticPhoto, SyntheticPhoto, SyntheticPhoto][],
  paths: Map<string, string>,
): number {
  const groupOf = new Map<string, Set<number>>();
  new PhotoRepository(db).listGroups().forEach((g) =>
    g.members.forEach((m) => {
      if (!groupOf.has(m.photo.path)) groupOf.set(m.photo.path, new Set());
      groupOf.get(m.photo.path)!.add(g.id);
    }),
  );
  return triplets.filter(([o, , f]) => {
    const a = groupOf.get(paths.get(o.name)!) ?? new Set();
    const b = groupOf.get(paths.get(f.name)!) ?? new Set();
    return [...a].some((id) => b.has(id));
  }).length;
}

function labelTriplets(
  lib: Library,
  triplets: [SyntheticPhoto, SyntheticPhoto, SyntheticPhoto][],
): void {
  for (const [q, b, w] of triplets) {
    addTriplet(db, {
      query: lib.paths.get(q.name)!,
      better: lib.paths.get(b.name)!,
      worse: lib.paths.get(w.name)!,
    });
  }
}

describe('labels', () => {
  it('stores an explicit triplet by content and counts a repeat once', async () => {
    const lib = await library(2, 0);
    const [q, b, w] = lib.labelled;
    const paths = {
      query: lib.paths.get(q.name)!,
      better: lib.paths.get(b.name)!,
      worse: lib.paths.get(w.name)!,
    };
    expect(addTriplet(db, paths)).toEqual({ labels: 1, pairs: 0 });
    expect(addTriplet(db, paths)).toEqual({ labels: 0, pairs: 0 });
    const [label] = new LabelRepository(db).listLabels();
    expect(label).toMatchObject({
      query: lib.ref(q),
      better: lib.ref(b),
      worse: lib.ref(w),
      source: 'explicit',
      weight: 1,
    });
  });

  it('refuses a path that was never scanned, naming it', async () => {
    const lib = await library(1, 0);
    const missing = path.join(tmp, 'photos', 'not-there.jpg');
    const call = (): unknown =>
      addTriplet(db, {
        query: lib.paths.get(lib.labelled[0].name)!,
        better: missing,
        worse: lib.paths.get(lib.labelled[1].name)!,
      });
    expect(call).toThrow(AppError);
    expect(call).toThrow(`Not a scanned photo: ${missing}`);
  });

  it('refuses a triplet that names the same photo twice', async () => {
    const lib = await library(1, 0);
    const a = lib.paths.get(lib.labelled[0].name)!;
    expect(() =>
      addTriplet(db, { query: a, better: a, worse: lib.paths.get(lib.labelled[1].name)! }),
    ).toThrow(/given twice/);
  });

  it('turns review decisions into weighted implicit labels and not-duplicate pairs', async () => {
    const lib = await library(2, 0);
    const [o, e, f, o2] = lib.labelled.map(lib.ref);
    expect(recordSplit(db, [o, e], f)).toEqual({ labels: 4, pairs: 2 });
    expect(recordKeepAll(db, [o2, o])).toEqual({ labels: 1, pairs: 1 });
    expect(recordTrashConfirmed(db, o, [e, o])).toEqual({ labels: 1, pairs: 0 });
    const labels = new LabelRepository(db).listLabels();
    const bySource = (s: string): unknown[] => labels.filter((l) => l.source === s);
    expect(bySource('split')).toHaveLength(4);
    expect(labels.find((l) => l.source === 'split' && l.better?.hash === e.hash)).toMatchObject({
      query: o,
      worse: f,
      weight: 0.5,
    });
    expect(bySource('keep-all')).toHaveLength(1);
    expect(labels.find((l) => l.source === 'trash-confirmed')).toMatchObject({
      query: o,
      better: e,
      worse: null,
      weight: 0.3,
    });
    const excluded = excludedPairs(db);
    expect(excluded(f.hash, o.hash)).toBe(true);
    expect(excluded(e.hash, f.hash)).toBe(true);
    expect(excluded(o.hash, o2.hash)).toBe(true);
    expect(excluded(o.hash, e.hash)).toBe(false);
  });

  it('exports labels and pairs to JSON and imports them back into another cache unchanged', async () => {
    const lib = await library(3, 0);
    const [o, e, f] = lib.labelled;
    labelTriplets(lib, [[o, e, f]]);
    markNotDuplicate(db, lib.paths.get(o.name)!, lib.paths.get(f.name)!);
    recordTrashConfirmed(db, lib.ref(o), [lib.ref(e)]);
    const file = path.join(tmp, 'labels.json');
    expect(exportLabelsToFile(db, file)).toEqual({ labels: 3, pairs: 1 });
    const before = exportLabels(db);

    const other = openDatabase(path.join(tmp, 'other.sqlite'));
    try {
      seedLibrary(other, path.join(tmp, 'photos'), [...lib.labelled]);
      expect(importLabelsFromFile(other, file)).toEqual({ labels: 3, pairs: 1, changed: 0 });
      expect(exportLabels(other)).toEqual(before);
      expect(importLabelsFromFile(other, file)).toEqual({ labels: 0, pairs: 0, changed: 0 });
    } finally {
      other.close();
    }
  });

  it('imports a plain array of paths as source "import" and stops at an unknown path naming it', async () => {
    const lib = await library(2, 0);
    const p = (s: SyntheticPhoto): string => lib.paths.get(s.name)!;
    const [o, e, f, o2, e2] = lib.labelled;
    const good = path.join(tmp, 'good.json');
    fs.writeFileSync(
      good,
      JSON.stringify([
        { query: p(o), better: p(e), worse: p(f) },
        { query: p(o2), better: p(e2), worse: p(o) },
      ]),
    );
    expect(importLabelsFromFile(db, good)).toMatchObject({ labels: 2 });
    expect(new LabelRepository(db).listLabels().every((l) => l.source === 'import')).toBe(true);

    const bad = path.join(tmp, 'bad.json');
    const ghost = path.join(tmp, 'ghost.jpg');
    fs.writeFileSync(
      bad,
      JSON.stringify([
        { query: p(e), better: p(o), worse: p(f) },
        { query: ghost, better: p(e), worse: p(f) },
      ]),
    );
    expect(() => importLabelsFromFile(db, bad)).toThrow(
      `Nothing was imported from ${bad}: entry 2: Not a scanned photo: ${ghost}`,
    );
    // All or nothing: the first entry of the refused file was not kept.
    expect(new LabelRepository(db).countLabels()).toBe(2);

    const twice = path.join(tmp, 'twice.json');
    fs.writeFileSync(
      twice,
      JSON.stringify([
        { query: p(e), better: p(o), worse: p(f) },
        { query: p(e), better: p(o), worse: p(e) },
      ]),
    );
    expect(() => importLabelsFromFile(db, twice)).toThrow(
      `Nothing was imported from ${twice}: entry 2: ${p(e)} is given twice`,
    );
    expect(new LabelRepository(db).countLabels()).toBe(2);

    const malformed = path.join(tmp, 'malformed.json');
    fs.writeFileSync(malformed, JSON.stringify([{ query: p(o) }]));
    expect(() => importLabelsFromFile(db, malformed)).toThrow(
      /not valid, so nothing was imported: entry 1: .*needs "better" or "worse"/,
    );
  });
});

describe('training on simulated users', () => {
  it('learns "burst frames are not duplicates" from labelled scenes and ranks unlabelled scenes that way', async () => {
    const lib = await library(24, 40);
    labelTriplets(lib, burstTriplets(lib.labelled));
    const shippedKey = lib.model.head.version;
    const others = burstTriplets(lib.unlabelled);
    const before = storedAccuracy(shippedKey, others);

    const report = await trainFromLabels(db, lib.model);

    expect(report.adopted).toBe(true);
    expect(report.reason).toBeUndefined();
    expect(report.version).toBe(2);
    expect(report.heldOut!.after).toBeGreaterThan(report.heldOut!.before);
    expect(report.labels).toMatchObject({ total: 24, distinct: 24, skipped: 0, contradicting: 0 });
    expect(report.labels.heldOut).toBeGreaterThanOrEqual(2);
    expect(report.generic!.after).toBeGreaterThanOrEqual(report.generic!.shipped - 0.01);
    // Unlabelled scenes: the shipped head puts the burst frame closer than the edited copy in
    // about half of them; the user's head ranks at least 30 points more of them the user's way.
    const after = storedAccuracy(headKey(shippedKey, 2), others);
    expect(before).toBeLessThan(0.7);
    expect(after - before).toBeGreaterThanOrEqual(0.3);
    expect(after).toBeGreaterThanOrEqual(0.9);
    expect(currentModel(db, lib.model).head.version).toBe(headKey(shippedKey, 2));
  });

  it('learns from "keep all, these are different" decisions so unlabelled burst frames stop grouping', async () => {
    const lib = await library(40, 40);
    for (const [o, , f] of burstTriplets(lib.labelled)) recordKeepAll(db, [lib.ref(o), lib.ref(f)]);
    const others = burstTriplets(lib.unlabelled);
    const groupedBefore = groupedBurstPairs(others, lib.paths);
    expect(groupedBefore).toBe(others.length);

    const report = await trainFromLabels(db, lib.model);

    expect(report.adopted).toBe(true);
    const groupedAfter = groupedBurstPairs(others, lib.paths);
    // At least a fifth of the unlabelled burst pairs no longer share a group.
    expect(groupedBefore - groupedAfter).toBeGreaterThanOrEqual(Math.ceil(others.length / 5));
    // The labelled pairs themselves never group again (the decision is kept as a pair).
    expect(groupedBurstPairs(burstTriplets(lib.labelled), lib.paths)).toBe(0);
  });

  it('does not adopt a head from labels that contradict each other, and says why', async () => {
    const lib = await library(12, 0);
    const triplets = burstTriplets(lib.labelled);
    labelTriplets(lib, triplets);
    labelTriplets(
      lib,
      triplets.map(([q, b, w]) => [q, w, b]),
    );

    const report = await trainFromLabels(db, lib.model);

    expect(report.adopted).toBe(false);
    expect(report.version).toBe(1);
    expect(report.labels.contradicting).toBe(24);
    expect(report.reason).toMatch(/24 of 24 labels contradict each other/);
    expect(new HeadRepository(db).list()).toHaveLength(0);
    expect(currentModel(db, lib.model)).toBe(lib.model);
  });

  it('does not adopt a head that would rank the generic evaluation worse, and says why', async () => {
    const lib = await library(24, 0);
    // A generic set that agrees with the shipped head and not with this user: the other burst
    // frame is the better match, the edited copy the worse one.
    const generic = burstTriplets(makeScenes(60, 555));
    const rows = new Float32Array(generic.length * 3 * FEATURE_DIMS);
    generic.forEach(([o, e, f], t) =>
      [o, f, e].forEach((p, i) => rows.set(p.features, (t * 3 + i) * FEATURE_DIMS)),
    );
    writeGenericTriplets(lib.model.dir, NETWORK_VERSION, rows, generic.length, FEATURE_DIMS);
    labelTriplets(lib, burstTriplets(lib.labelled));

    const report = await trainFromLabels(db, lib.model);

    expect(report.heldOut!.after).toBeGreaterThan(report.heldOut!.before);
    expect(report.adopted).toBe(false);
    expect(report.reason).toMatch(/generic accuracy would fall from .* more than the 0.01 allowed/);
  });

  it(`does not train on fewer than ${MIN_LABELS} distinct triplets and states the rule`, async () => {
    const lib = await library(5, 0);
    labelTriplets(lib, burstTriplets(lib.labelled));
    const report = await trainFromLabels(db, lib.model);
    expect(report).toMatchObject({ adopted: false, heldOut: null, version: 1 });
    expect(report.reason).toBe(
      'too few labels to train: 5 distinct triplets with cached features, need at least 6 (4 to learn from and 2 to check)',
    );
  });

  it('refuses to adopt when the model ships no generic evaluation', async () => {
    const lib = await library(24, 0);
    fs.rmSync(path.join(lib.model.dir, 'doppel-generic-triplets.json'));
    labelTriplets(lib, burstTriplets(lib.labelled));
    const report = await trainFromLabels(db, lib.model);
    expect(report.adopted).toBe(false);
    expect(report.generic).toBeNull();
    expect(report.reason).toMatch(
      /ships no generic evaluation set .* so a new head cannot be checked/,
    );
  });
});

describe('head versions', () => {
  it('lists versions and reverts to the shipped head with the shipped embeddings and groups exactly', async () => {
    const lib = await library(24, 10);
    const shippedKey = lib.model.head.version;
    const snapshot = (): Map<string, string> => {
      const out = new Map<string, string>();
      for (const [hash, views] of new PhotoRepository(db).allEmbeddings(shippedKey)) {
        out.set(hash, Buffer.from(views.get('identity')!.buffer).toString('hex'));
      }
      return out;
    };
    const groupsNow = (): string[] =>
      new PhotoRepository(db)
        .listGroups()
        .map((g) => `${g.kind}:${g.members.map((m) => `${m.photo.path}@${m.distance}`).join(',')}`);
    const embeddingsBefore = snapshot();
    const groupsBefore = groupsNow();
    labelTriplets(lib, burstTriplets(lib.labelled));
    expect((await trainFromLabels(db, lib.model)).adopted).toBe(true);
    expect(groupsNow()).not.toEqual(groupsBefore);

    const heads = listHeads(db, lib.model);
    expect(heads.map((h) => [h.version, h.kind, h.isCurrent])).toEqual([
      [1, 'shipped', false],
      [2, 'trained', true],
    ]);
    expect(heads[1].metrics!.heldOut.after).toBeGreaterThan(heads[1].metrics!.heldOut.before);
    expect(parseHeadVersion(db, 'shipped')).toBe(1);
    expect(() => parseHeadVersion(db, '7')).toThrow(
      'No head version 7. Known versions: shipped (1), 2',
    );

    const report = await switchHead(db, lib.model, 1);
    expect(report).toMatchObject({ version: 1, previous: 2 });
    expect(currentModel(db, lib.model)).toBe(lib.model);
    expect(snapshot()).toEqual(embeddingsBefore);
    expect(groupsNow()).toEqual(groupsBefore);
    // The trained head's embeddings are dropped; switching back recomputes them.
    expect(new PhotoRepository(db).allEmbeddings(headKey(shippedKey, 2)).size).toBe(0);
    const again = await switchHead(db, lib.model, 2);
    expect(again.embedded).toBe(lib.labelled.length + lib.unlabelled.length);
  });

  it('falls back to the shipped head when the current one was trained for another network', async () => {
    const lib = await library(24, 0);
    labelTriplets(lib, burstTriplets(lib.labelled));
    expect((await trainFromLabels(db, lib.model)).adopted).toBe(true);
    const newer: LoadedModel = {
      ...lib.model,
      card: { ...lib.model.card, networkVersion: 'synthetic-net-2' },
    };
    expect(currentModel(db, newer)).toBe(newer);
    expect(listHeads(db, newer)[1]).toMatchObject({
      version: 2,
      isUsable: false,
      isCurrent: false,
    });
    await expect(switchHead(db, newer, 2)).rejects.toThrow(/trained for another model/);
  });
});

describe('not-duplicate decisions', () => {
  it('keep two photos out of one group across a rescan that renames one of them', async () => {
    const lib = await library(3, 0);
    const [o, , f] = lib.labelled;
    const pairGrouped = (): boolean => groupedBurstPairs([[o, o, f]], currentPaths()) > 0;
    const currentPaths = (): Map<string, string> => {
      const byHash = new Map(
        new PhotoRepository(db).listOkPhotos().map((p) => [p.content_hash!, p.path]),
      );
      return new Map([o, f].map((p) => [p.name, byHash.get(hashOf(p))!]));
    };
    expect(pairGrouped()).toBe(true);

    markNotDuplicate(db, lib.paths.get(o.name)!, lib.paths.get(f.name)!);
    await refreshForHead(db, lib.model);
    expect(pairGrouped()).toBe(false);

    // A rescan finds the burst frame under a new name: same content, new photo row.
    const renamed = path.join(tmp, 'photos', 'renamed.jpg');
    fs.renameSync(lib.paths.get(f.name)!, renamed);
    db.prepare(`UPDATE photos SET status = 'missing' WHERE path = ?`).run(lib.paths.get(f.name)!);
    const repo = new PhotoRepository(db);
    const id = repo.upsertPending(
      undefined,
      { path: renamed, pathBytes: Buffer.from(renamed), size: 10, mtimeMs: 2 },
      1,
    );
    repo.setOk(id, hashOf(f), {
      format: 'jpeg',
      width: 100,
      height: 100,
      takenAt: null,
      camera: null,
      orientation: null,
      burstId: null,
      contentId: null,
      exifFields: 0,
    });
    await refreshForHead(db, lib.model);
    expect(currentPaths().get(f.name)).toBe(renamed);
    expect(pairGrouped()).toBe(false);
  });
});

describe('saved grouping thresholds', () => {
  it('fall back to the card with one warning when the saved pair is out of order, never failing a regroup', async () => {
    const lib = await library(3, 0);
    const repo = new PhotoRepository(db);
    const expected = repo.listGroups().map((g) => g.members.map((m) => m.photo.path));
    expect(expected.length).toBeGreaterThan(0);
    // What the old `groups --near 0.9` left behind (the card's similar threshold is 0.6).
    repo.setSetting('thresholds', JSON.stringify({ nearDuplicate: 0.9, similar: 0.6 }));
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(currentThresholds(repo, lib.model)).toEqual(lib.model.card.thresholds);
      await refreshForHead(db, lib.model); // what a scan and a head switch run
      rebuildGroups(repo, new CompanionRepository(db), lib.model);
      const warnings = stderr.mock.calls.map((c) => String(c[0])).filter((l) => /^warn:/.test(l));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/saved grouping thresholds cannot be used.*similar 0\.6/);
      expect(warnings[0].trim().split('\n')).toHaveLength(1);
    } finally {
      stderr.mockRestore();
    }
    expect(repo.listGroups().map((g) => g.members.map((m) => m.photo.path))).toEqual(expected);

    // A missing value still comes from the card; a valid saved pair is used as saved.
    repo.setSetting('thresholds', JSON.stringify({ nearDuplicate: 0.2 }));
    expect(currentThresholds(repo, lib.model)).toEqual({ nearDuplicate: 0.2, similar: 0.6 });
    repo.setSetting('thresholds', 'not json');
    const quiet = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(currentThresholds(repo, lib.model)).toEqual(lib.model.card.thresholds);
      expect(quiet).toHaveBeenCalledTimes(1);
    } finally {
      quiet.mockRestore();
    }
  });
});

describe('head maths through the database', () => {
  it('computes the same embeddings as the JavaScript head, to float rounding', async () => {
    const lib = await library(4, 0);
    const emb = new PhotoRepository(db).allEmbeddings(lib.model.head.version);
    for (const p of lib.labelled) {
      const stored = emb.get(hashOf(p))!.get('identity')!;
      const z = new Float32Array(EMBED_DIMS);
      for (let o = 0; o < EMBED_DIMS; o++) {
        let s = lib.model.head.bias[o];
        for (let k = 0; k < lib.model.head.inDims; k++)
          s += lib.model.head.weight[o * lib.model.head.inDims + k] * p.features[k];
        z[o] = s;
      }
      const { y } = normaliseRows(z, 1, EMBED_DIMS);
      stored.forEach((v, o) => expect(v).toBeCloseTo(y[o], 5));
    }
  });
});
