/**
 * Reconcile on journal states a killed run leaves behind, built by hand: each test puts the files
 * where a kill at one instant would leave them, then checks that every file ends in exactly one
 * place, complete, and that the journal says where.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeTrashInfo } from '../../src-main/engine/actions/freedesktop-trash';
import { ActionJournal, type EntryState } from '../../src-main/engine/actions/journal.repository';
import { reconcileJournal } from '../../src-main/engine/actions/reconcile.service';
import { restorePartialPath } from '../../src-main/engine/actions/restore';
import {
  addPhoto,
  makeLibrary,
  photoBytes,
  photoStatus,
  sha256,
  type Library,
} from './actions-fixture';

let lib: Library;
let journal: ActionJournal;
let files: string;
let info: string;
const DEAD_PID = spawnSync('true').pid!;

beforeEach(() => {
  lib = makeLibrary();
  journal = new ActionJournal(lib.db);
  files = path.join(lib.homeTrash, 'files');
  info = path.join(lib.homeTrash, 'info');
  fs.mkdirSync(files, { recursive: true });
  fs.mkdirSync(info, { recursive: true });
});
afterEach(() => lib.close());

interface Staged {
  id: number;
  photoId: number;
  source: string;
  dest: string;
  infoPath: string;
  partial: string;
  bytes: Buffer;
}

/** A photo journaled for the trash by a run whose process is dead, in `state`. */
function stage(
  name: string,
  state: EntryState,
  opts: { step?: number; runId?: number; pid?: number } = {},
): Staged {
  const source = path.join(lib.root, name);
  const bytes = photoBytes(name);
  const photoId = addPhoto(lib.db, source, bytes);
  const runId = opts.runId ?? journal.startRun('trash');
  lib.db.prepare('UPDATE action_runs SET pid = ? WHERE id = ?').run(opts.pid ?? DEAD_PID, runId);
  const dest = path.join(files, name);
  const infoPath = path.join(info, `${name}.trashinfo`);
  const partial = path.join(files, `.doppel-partial-${runId}-${opts.step ?? 1}-0`);
  const [id] = journal.addEntries(runId, [
    {
      step: opts.step ?? 1,
      role: 'photo',
      photoId,
      groupId: 1,
      kind: 'trash',
      sourcePath: source,
      destPath: dest,
      trashInfoPath: infoPath,
      partialPath: partial,
      size: bytes.length,
      mtimeMs: fs.statSync(source).mtimeMs,
      contentHash: sha256(bytes),
      state: 'planned',
    },
  ]);
  if (state !== 'planned') journal.setState(id, state);
  return { id, photoId, source, dest, infoPath, partial, bytes };
}

function entryOf(id: number) {
  return journal.get(id);
}

describe('reconcileJournal', () => {
  it('marks a file still at its source not done and removes the stale .trashinfo', () => {
    const s = stage('a.jpg', 'planned');
    writeTrashInfo(s.infoPath, s.source, new Date());
    const report = reconcileJournal(lib.db);
    expect(report).toMatchObject({ settled: 1, notDone: 1, completed: 0, interruptedRuns: 1 });
    expect(entryOf(s.id)).toMatchObject({ state: 'failed', outcome: 'INTERRUPTED' });
    expect(fs.existsSync(s.infoPath)).toBe(false);
    expect(fs.readFileSync(s.source)).toEqual(s.bytes);
    expect(photoStatus(lib.db, s.photoId)).toBe('ok');
  });

  it('completes a move caught between the link and the unlink (one file, two names)', () => {
    const s = stage('b.jpg', 'moving');
    writeTrashInfo(s.infoPath, s.source, new Date());
    fs.linkSync(s.source, s.dest);
    const report = reconcileJournal(lib.db);
    expect(report).toMatchObject({ completed: 1, notDone: 0 });
    expect(fs.existsSync(s.source)).toBe(false);
    expect(fs.readFileSync(s.dest)).toEqual(s.bytes);
    expect(fs.existsSync(s.infoPath)).toBe(true);
    expect(entryOf(s.id).state).toBe('done');
    expect(photoStatus(lib.db, s.photoId)).toBe('missing');
  });

  it('removes a half-written copy and leaves the original', () => {
    const s = stage('c.jpg', 'moving');
    fs.writeFileSync(s.partial, s.bytes.subarray(0, 100));
    reconcileJournal(lib.db);
    expect(fs.existsSync(s.partial)).toBe(false);
    expect(fs.existsSync(s.dest)).toBe(false);
    expect(fs.readFileSync(s.source)).toEqual(s.bytes);
    expect(entryOf(s.id).state).toBe('failed');
  });

  it('finishes a verified copy whose original was not yet removed', () => {
    const s = stage('d.jpg', 'moving');
    fs.copyFileSync(s.source, s.dest);
    reconcileJournal(lib.db);
    expect(fs.existsSync(s.source)).toBe(false);
    expect(fs.readFileSync(s.dest)).toEqual(s.bytes);
    expect(entryOf(s.id).state).toBe('done');
  });

  it('leaves both files when the destination holds something else', () => {
    const s = stage('e.jpg', 'moving');
    fs.writeFileSync(s.dest, 'not our photo');
    const report = reconcileJournal(lib.db);
    expect(report.problems.map((p) => p.code)).toEqual(['NAME_TAKEN']);
    expect(fs.readFileSync(s.source)).toEqual(s.bytes);
    expect(fs.readFileSync(s.dest, 'utf8')).toBe('not our photo');
    expect(entryOf(s.id).state).toBe('failed');
  });

  it('counts a file already at its destination as done', () => {
    const s = stage('f.jpg', 'moving');
    fs.renameSync(s.source, s.dest);
    reconcileJournal(lib.db);
    expect(entryOf(s.id)).toMatchObject({ state: 'done', reason: null });
  });

  it('reports a file found in neither place', () => {
    const s = stage('g.jpg', 'moving');
    fs.rmSync(s.source);
    const report = reconcileJournal(lib.db);
    expect(report.problems).toEqual([
      { path: s.source, code: 'ACTION_FILE_VANISHED', reason: expect.stringContaining('neither') },
    ]);
    expect(entryOf(s.id).state).toBe('failed');
  });

  it('settles an interrupted undo: back at the source means undone, still away means done', () => {
    const back = stage('h.jpg', 'done');
    const away = stage('i.jpg', 'done');
    for (const s of [back, away]) {
      writeTrashInfo(s.infoPath, s.source, new Date());
      fs.renameSync(s.source, s.dest);
      journal.beginUndo(s.id, journal.startRun('undo'));
    }
    lib.db.prepare('UPDATE action_runs SET pid = ?').run(DEAD_PID);
    fs.linkSync(back.dest, back.source);
    fs.writeFileSync(restorePartialPath(entryOf(away.id)), 'half a copy');

    reconcileJournal(lib.db);
    expect(entryOf(back.id).state).toBe('undone');
    expect(fs.existsSync(back.dest) || fs.existsSync(back.infoPath)).toBe(false);
    expect(fs.readFileSync(back.source)).toEqual(back.bytes);
    expect(entryOf(away.id).state).toBe('done');
    expect(fs.existsSync(restorePartialPath(entryOf(away.id)))).toBe(false);
    expect(fs.existsSync(away.dest) && fs.existsSync(away.infoPath)).toBe(true);
  });

  it('puts back the moved part of a bundle left half moved', () => {
    const photo = stage('j.jpg', 'moving');
    const runId = entryOf(photo.id).run_id;
    const companion = stage('j.jpg.xmp', 'planned', { runId });
    writeTrashInfo(photo.infoPath, photo.source, new Date());
    fs.renameSync(photo.source, photo.dest);

    const report = reconcileJournal(lib.db);
    expect(report).toMatchObject({ completed: 1, notDone: 1, rolledBack: 1 });
    expect(fs.readFileSync(photo.source)).toEqual(photo.bytes);
    expect(fs.existsSync(companion.source)).toBe(true);
    expect(fs.existsSync(photo.dest) || fs.existsSync(photo.infoPath)).toBe(false);
    expect(entryOf(photo.id)).toMatchObject({ state: 'undone', outcome: 'BUNDLE_KEPT_TOGETHER' });
    expect(photoStatus(lib.db, photo.photoId)).toBe('ok');
  });

  it('finishes bringing back a bundle when an undo was killed between two of its files', () => {
    const photo = stage('m.jpg', 'done');
    const runId = entryOf(photo.id).run_id;
    const companion = stage('m.jpg.xmp', 'done', { runId });
    for (const s of [photo, companion]) {
      writeTrashInfo(s.infoPath, s.source, new Date());
      fs.renameSync(s.source, s.dest);
    }
    journal.finishRun(runId, 'completed');
    const undoRun = journal.startRun('undo');
    lib.db.prepare('UPDATE action_runs SET pid = ?').run(DEAD_PID);
    journal.beginUndo(photo.id, undoRun);
    fs.renameSync(photo.dest, photo.source);
    fs.rmSync(photo.infoPath);
    journal.markUndone(entryOf(photo.id));

    const report = reconcileJournal(lib.db);
    expect(report).toMatchObject({ settled: 0, rolledBack: 1, interruptedRuns: 1 });
    expect(fs.readFileSync(companion.source)).toEqual(companion.bytes);
    expect(fs.existsSync(companion.dest) || fs.existsSync(companion.infoPath)).toBe(false);
    expect(entryOf(companion.id).state).toBe('undone');
  });

  it('leaves alone the entries of a process that is still running', () => {
    const s = stage('k.jpg', 'moving', { pid: process.pid });
    fs.linkSync(s.source, s.dest);
    expect(reconcileJournal(lib.db).settled).toBe(0);
    expect(entryOf(s.id).state).toBe('moving');
    expect(fs.existsSync(s.source) && fs.existsSync(s.dest)).toBe(true);
  });

  it('keeps a .trashinfo that now describes another file', () => {
    const s = stage('l.jpg', 'planned');
    writeTrashInfo(s.infoPath, '/somewhere/else.jpg', new Date());
    reconcileJournal(lib.db);
    expect(fs.existsSync(s.infoPath)).toBe(true);
  });
});
