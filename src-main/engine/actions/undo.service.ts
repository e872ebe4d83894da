/**
 * Undo: brings the files of the latest apply runs back to their original paths, newest first,
 * from the trash (removing their `.trashinfo`) or from the `--move-to` folder.
 */
import type { Db } from '../db/database';
import { NODE_FS, type ActionFs, type PausePoint } from './file-ops';
import { ActionJournal } from './journal.repository';
import type { FileResult } from './outcomes';
import { reconcileJournal, type ReconcileReport } from './reconcile.service';
import { restoreEntry } from './restore';

/** Which runs to undo, plus the same test seams as apply. */
export interface UndoOptions {
  /** How many of the latest runs with files still away to undo (default 1). */
  last?: number;
  /** Undo every such run. */
  all?: boolean;
  fs?: ActionFs;
  pause?: (point: PausePoint) => void;
}

/** What an undo did, file by file. */
export interface UndoReport {
  /** The apply runs undone (newest first). */
  runs: number[];
  /** One result per file: restored, or why not (name taken, gone from the trash...). */
  results: FileResult[];
  counts: Record<string, number>;
  reconciled: ReconcileReport;
}

/**
 * Reconciles the journal, then restores every file still `done` in the chosen runs. A file whose
 * original name is taken again is reported (NAME_TAKEN) and left where it is; undo can be run
 * again once the name is free. Missing folders on the way back are recreated.
 */
export function undoRuns(db: Db, opts: UndoOptions = {}): UndoReport {
  const fsx = opts.fs ?? NODE_FS;
  const reconciled = reconcileJournal(db, { fs: fsx });
  const journal = new ActionJournal(db);
  const runs = journal.undoableRuns(opts.all ? -1 : (opts.last ?? 1));
  const results: FileResult[] = [];
  if (runs.length > 0) {
    const undoRunId = journal.startRun('undo');
    for (const run of runs) {
      for (const entry of journal.entriesInState(run.id, 'done')) {
        results.push(
          restoreEntry(journal, entry, { fs: fsx, runId: undoRunId, pause: opts.pause }),
        );
      }
    }
    journal.finishRun(undoRunId, 'completed');
  }
  const counts: Record<string, number> = {};
  for (const r of results) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
  return { runs: runs.map((r) => r.id), results, counts, reconciled };
}
