/**
 * Putting one journaled file back where it came from: used by undo, by apply when a bundle must
 * stay together, and by reconcile when a killed run left a bundle split.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ProblemCode } from '../../contract/errors';
import {
  hashFile,
  NODE_FS,
  pathExists,
  removeIfPresent,
  transferFile,
  type ActionFs,
  type PausePoint,
} from './file-ops';
import { readTrashInfoPath } from './freedesktop-trash';
import type { ActionJournal, JournalEntry } from './journal.repository';
import { codeForError, describeCode, errorDetail, type FileResult } from './outcomes';

export interface RestoreOptions {
  fs?: ActionFs;
  /** The run doing the restore (an undo run, or the apply run rolling back a bundle). */
  runId: number;
  pause?: (point: PausePoint) => void;
  /** Outcome code recorded on success (undo leaves it empty; a bundle rollback names itself). */
  successCode?: ProblemCode;
}

/** The name a copy back across devices is written under before it is verified. */
export function restorePartialPath(entry: JournalEntry): string {
  return path.join(path.dirname(entry.source_path), `.doppel-restore-${entry.id}`);
}

/**
 * Moves a `done` entry's file from its destination back to its source, never overwriting a file
 * now at the source (reported as NAME_TAKEN, entry stays `done`), then removes its `.trashinfo`.
 * A file no longer at its destination, or sent to the OS trash, becomes `gone`.
 */
export function restoreEntry(
  journal: ActionJournal,
  entry: JournalEntry,
  opts: RestoreOptions,
): FileResult {
  const fsx = opts.fs ?? NODE_FS;
  const base = {
    path: entry.source_path,
    ...(entry.dest_path ? { destination: entry.dest_path } : {}),
  };
  if (!entry.dest_path) return markGone(journal, entry, 'RESTORE_FROM_SYSTEM_TRASH');
  if (!pathExists(entry.dest_path)) return markGone(journal, entry, 'GONE_FROM_DESTINATION');
  if (!holdsJournaledContent(entry, entry.dest_path)) {
    // The trash was emptied and another file took the same name since: that one is not ours.
    return markGone(journal, entry, 'GONE_FROM_DESTINATION', 'another file now has that name');
  }
  if (pathExists(entry.source_path)) {
    journal.setState(
      entry.id,
      'done',
      'NAME_TAKEN',
      describeCode('NAME_TAKEN', 'at the original place'),
    );
    return {
      ...base,
      outcome: 'skipped',
      code: 'NAME_TAKEN',
      reason: describeCode('NAME_TAKEN', 'at the original place'),
    };
  }

  journal.beginUndo(entry.id, opts.runId);
  try {
    fs.mkdirSync(path.dirname(entry.source_path), { recursive: true });
    transferFile(entry.dest_path, entry.source_path, {
      fs: fsx,
      partial: restorePartialPath(entry),
      expectedHash: entry.content_hash ?? '',
      pause: opts.pause,
    });
  } catch (err) {
    const code = codeForError(err);
    const reason = describeCode(code, errorDetail(err));
    journal.setState(entry.id, 'done', code, reason);
    return { ...base, outcome: 'failed', code, reason };
  }
  removeOwnTrashInfo(entry, fsx);
  const code = opts.successCode ?? null;
  journal.markUndone(entry, code ?? 'restored', code ? describeCode(code) : null);
  return {
    ...base,
    outcome: 'restored',
    ...(code ? { code } : {}),
    reason: code ? describeCode(code) : 'restored',
  };
}

/**
 * Removes the `.trashinfo` this entry wrote, unless it now describes another file (then it is not
 * ours to remove). A half-written one (no readable Path) is ours: nobody else writes that name.
 */
export function removeOwnTrashInfo(entry: JournalEntry, fsx: ActionFs = NODE_FS): boolean {
  if (!entry.trash_info_path) return false;
  const recorded = readTrashInfoPath(entry.trash_info_path);
  if (recorded !== null && recorded !== entry.source_path) return false;
  return removeIfPresent(entry.trash_info_path, fsx);
}

function holdsJournaledContent(entry: JournalEntry, file: string): boolean {
  if (!entry.content_hash) return true;
  try {
    return fs.statSync(file).size === entry.size && hashFile(file) === entry.content_hash;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code) return false;
    throw err;
  }
}

function markGone(
  journal: ActionJournal,
  entry: JournalEntry,
  code: ProblemCode,
  detail?: string,
): FileResult {
  const reason = describeCode(code, detail);
  journal.setState(entry.id, 'gone', code, reason);
  return { path: entry.source_path, outcome: 'failed', code, reason };
}
