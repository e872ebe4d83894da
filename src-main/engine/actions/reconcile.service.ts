/**
 * Reconcile: after a run was killed (kill -9, power cut, crash), settle every journal entry it left
 * mid-way by looking at the disk, so each file ends either where it was or where it was sent,
 * complete, and never in both places.
 */
import type { ProblemCode } from '../../contract/errors';
import type { Db } from '../db/database';
import {
  hashFile,
  isSameFile,
  NODE_FS,
  pathExists,
  removeIfPresent,
  type ActionFs,
} from './file-ops';
import { ActionJournal, type JournalEntry } from './journal.repository';
import { describeCode } from './outcomes';
import { removeOwnTrashInfo, restoreEntry, restorePartialPath } from './restore';

/** What a reconcile did. */
export interface ReconcileReport {
  /** Entries found mid-way (planned, moving or undoing) whose process is gone. */
  settled: number;
  /** Of those, files found complete at their destination (the act had happened). */
  completed: number;
  /** Files found still at their source (the act had not happened). */
  notDone: number;
  /** Files of a bundle put back so the bundle stays together. */
  rolledBack: number;
  /** Runs marked interrupted. */
  interruptedRuns: number;
  /** Files in neither place or unexpected content, each with its reason. */
  problems: { path: string; code: ProblemCode; reason: string }[];
}

/**
 * Settles every entry left mid-way by a process that no longer runs, then marks those runs
 * interrupted. Safe to call at any start (apply, undo, scan); entries of a live process are left
 * alone. Rules for a move from A to B (undo is the same with A and B swapped):
 * - the partial copy (never a final name) is removed;
 * - only at A: not done (a stale `.trashinfo` is removed);
 * - only at B: done;
 * - at both: B is complete when it is the same file as A (a link) or hashes to the journaled
 *   content (a copy is linked into place only after it is verified): A is removed, done. Otherwise
 *   B is someone else's file: A stays, not done;
 * - at neither: reported, nothing to move.
 * A bundle (one step) left half moved is then put back whole.
 */
export function reconcileJournal(db: Db, opts: { fs?: ActionFs } = {}): ReconcileReport {
  const fsx = opts.fs ?? NODE_FS;
  const journal = new ActionJournal(db);
  const report: ReconcileReport = {
    settled: 0,
    completed: 0,
    notDone: 0,
    rolledBack: 0,
    interruptedRuns: 0,
    problems: [],
  };
  const orphans = journal.orphanedInFlight();
  const deadRuns = journal.deadRunningRuns();
  if (orphans.length === 0 && deadRuns.length === 0) return report;

  const touchedSteps = new Map<string, { runId: number; step: number }>();
  const touch = (s: { runId: number; step: number }): void => {
    touchedSteps.set(`${s.runId}:${s.step}`, s);
  };
  for (const entry of orphans) {
    report.settled += 1;
    if (entry.state === 'undoing') settleUndo(journal, entry, fsx, report);
    else settleApply(journal, entry, fsx, report);
    touch({ runId: entry.run_id, step: entry.step });
  }
  // A kill between two files of a step leaves no entry mid-way, yet the step may be split.
  for (const run of deadRuns) journal.stepsOfRun(run.id).forEach(touch);
  if (touchedSteps.size > 0) keepBundlesTogether(journal, [...touchedSteps.values()], fsx, report);
  for (const run of deadRuns) {
    journal.finishRun(run.id, 'interrupted');
    report.interruptedRuns += 1;
  }
  return report;
}

function settleApply(
  journal: ActionJournal,
  e: JournalEntry,
  fsx: ActionFs,
  report: ReconcileReport,
): void {
  if (e.partial_path) removeIfPresent(e.partial_path, fsx);
  const doneOutcome = e.kind === 'trash' ? 'trashed' : 'moved';
  const atSource = pathExists(e.source_path);
  if (!e.dest_path) {
    // Sent to the OS trash, whose location Doppel does not know: gone from the source means done.
    if (atSource) notDone(journal, e, fsx, report);
    else finishDone(journal, e, doneOutcome, report);
    return;
  }
  const atDest = pathExists(e.dest_path);
  if (atSource && !atDest) return notDone(journal, e, fsx, report);
  if (!atSource && atDest)
    return finishDone(journal, e, doneOutcome, report, checkContent(e, e.dest_path));
  if (!atSource && !atDest) return vanished(journal, e, fsx, report);

  if (isComplete(e, e.source_path, e.dest_path)) {
    try {
      fsx.unlinkSync(e.source_path);
      return finishDone(journal, e, doneOutcome, report);
    } catch {
      // The source cannot go (an immutable file): drop the complete copy so one place remains.
      removeIfPresent(e.dest_path, fsx);
      return notDone(journal, e, fsx, report, 'READ_ONLY');
    }
  }
  notDone(journal, e, fsx, report, 'NAME_TAKEN');
}

function settleUndo(
  journal: ActionJournal,
  e: JournalEntry,
  fsx: ActionFs,
  report: ReconcileReport,
): void {
  removeIfPresent(restorePartialPath(e), fsx);
  const doneOutcome = e.kind === 'trash' ? 'trashed' : 'moved';
  const atSource = pathExists(e.source_path);
  const atDest = e.dest_path !== null && pathExists(e.dest_path);
  if (atDest && !atSource) {
    journal.setState(
      e.id,
      'done',
      doneOutcome,
      describeCode('INTERRUPTED', 'undo stopped before the file came back'),
    );
    report.notDone += 1;
    return;
  }
  if (atSource && !atDest) {
    removeOwnTrashInfo(e, fsx);
    journal.markUndone(e);
    report.completed += 1;
    return;
  }
  if (!atSource && !atDest) return vanished(journal, e, fsx, report, 'gone');
  if (isComplete(e, e.dest_path!, e.source_path)) {
    removeIfPresent(e.dest_path!, fsx);
    removeOwnTrashInfo(e, fsx);
    journal.markUndone(e);
    report.completed += 1;
    return;
  }
  const reason = describeCode('NAME_TAKEN', 'at the original place');
  journal.setState(e.id, 'done', 'NAME_TAKEN', reason);
  report.problems.push({ path: e.source_path, code: 'NAME_TAKEN', reason });
}

// `to` holds the whole file when it is `from` under a second name, or has the journaled content.
function isComplete(e: JournalEntry, from: string, to: string): boolean {
  if (isSameFile(from, to)) return true;
  return e.content_hash !== null && safeHash(to) === e.content_hash;
}

function checkContent(e: JournalEntry, file: string): string | null {
  if (!e.content_hash || safeHash(file) === e.content_hash) return null;
  return 'found at its destination, but its content differs from what was journaled';
}

function safeHash(file: string): string | null {
  try {
    return hashFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code) return null;
    throw err;
  }
}

function finishDone(
  journal: ActionJournal,
  e: JournalEntry,
  outcome: string,
  report: ReconcileReport,
  note: string | null = null,
): void {
  journal.markDone(e, outcome, note);
  report.completed += 1;
}

function notDone(
  journal: ActionJournal,
  e: JournalEntry,
  fsx: ActionFs,
  report: ReconcileReport,
  code: ProblemCode = 'INTERRUPTED',
): void {
  removeOwnTrashInfo(e, fsx);
  const reason = describeCode(code);
  journal.setState(e.id, 'failed', code, reason);
  report.notDone += 1;
  if (code !== 'INTERRUPTED') report.problems.push({ path: e.source_path, code, reason });
}

function vanished(
  journal: ActionJournal,
  e: JournalEntry,
  fsx: ActionFs,
  report: ReconcileReport,
  state: 'failed' | 'gone' = 'failed',
): void {
  removeOwnTrashInfo(e, fsx);
  const reason = describeCode('ACTION_FILE_VANISHED');
  journal.setState(e.id, state, 'ACTION_FILE_VANISHED', reason);
  report.problems.push({ path: e.source_path, code: 'ACTION_FILE_VANISHED', reason });
}

/**
 * A killed apply may have moved some files of a step and not the others, and a killed undo may
 * have brought some back and not the others. Files of one photo must stay together, so in both
 * cases the ones still away come back: the apply is rolled back, the undo finished.
 */
function keepBundlesTogether(
  journal: ActionJournal,
  steps: { runId: number; step: number }[],
  fsx: ActionFs,
  report: ReconcileReport,
): void {
  let undoRunId: number | null = null;
  for (const { runId, step } of steps) {
    const entries = journal.stepEntries(runId, step);
    const isHome = (x: JournalEntry): boolean => ['failed', 'skipped', 'undone'].includes(x.state);
    const split = entries.some(isHome) && entries.some((x) => x.state === 'done');
    if (!split) continue;
    undoRunId ??= journal.startRun('undo');
    for (const entry of entries.filter((x) => x.state === 'done')) {
      const result = restoreEntry(journal, entry, {
        fs: fsx,
        runId: undoRunId,
        successCode: 'BUNDLE_KEPT_TOGETHER',
      });
      if (result.outcome === 'restored') report.rolledBack += 1;
      else
        report.problems.push({
          path: entry.source_path,
          code: result.code ?? 'ACTION_IO_ERROR',
          reason: result.reason,
        });
    }
  }
  if (undoRunId !== null) journal.finishRun(undoRunId, 'completed');
}
