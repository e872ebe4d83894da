/**
 * Reads and writes of the action journal (tables action_runs and action_entries). Every state
 * change is its own committed transaction, so a process killed at any instant leaves the journal
 * saying what was about to happen, and where.
 */
import type { Db } from '../db/database';

/**
 * The life of one journal entry (one file):
 * - `planned`: written before anything is touched, with every place the file may end up;
 * - `moving`: the file operation started (it may be half done when the process dies);
 * - `done`: the file is at `dest_path` (or in the OS trash when `dest_path` is null);
 * - `failed`: the file was left at its source (outcome says why: permission, collision, crash...);
 * - `skipped`: never attempted (changed since the plan, protected folder, last copy...);
 * - `undoing` / `undone`: on its way back / back at `source_path`;
 * - `gone`: no longer where it was sent (trash emptied, or the OS trash), beyond Doppel's reach.
 */
export type EntryState =
  'planned' | 'moving' | 'done' | 'failed' | 'skipped' | 'undoing' | 'undone' | 'gone';

export type RunKind = 'trash' | 'move' | 'undo';
export type RunStatus = 'running' | 'completed' | 'interrupted';

/** One action_entries row. */
export interface JournalEntry {
  id: number;
  run_id: number;
  step: number;
  role: 'photo' | 'companion';
  photo_id: number | null;
  group_id: number | null;
  kind: 'trash' | 'move';
  source_path: string;
  dest_path: string | null;
  trash_info_path: string | null;
  partial_path: string | null;
  size: number | null;
  mtime_ms: number | null;
  content_hash: string | null;
  prior_status: string | null;
  undo_run_id: number | null;
  state: EntryState;
  outcome: string | null;
  reason: string | null;
  created_at: string;
  updated_at: string;
}

/** One action_runs row. */
export interface JournalRun {
  id: number;
  started_at: string;
  finished_at: string | null;
  kind: RunKind;
  move_to: string | null;
  plan_path: string | null;
  pid: number;
  status: RunStatus;
}

/** A file about to be acted on, as written before the act. */
export interface NewEntry {
  step: number;
  role: 'photo' | 'companion';
  photoId: number | null;
  groupId: number | null;
  kind: 'trash' | 'move';
  sourcePath: string;
  destPath: string | null;
  trashInfoPath: string | null;
  partialPath: string | null;
  size: number | null;
  mtimeMs: number | null;
  contentHash: string | null;
  state: 'planned' | 'skipped';
  outcome?: string | null;
  reason?: string | null;
}

/** Where a file may be: its destination, its `.trashinfo`, and the name a copy is written under. */
export interface EntryPlace {
  destPath: string | null;
  trashInfoPath: string | null;
  partialPath: string | null;
}

/**
 * True while process `pid` exists (EPERM means it exists but belongs to someone else).
 *
 * Limitation: a killed run whose process id has since been reused by another live process looks
 * alive, so its unfinished entries wait (untouched, nothing lost) until a later start finds that
 * process gone.
 */
export function isProcessAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Prepared statements over the journal of one open database. */
export class ActionJournal {
  private readonly stmts;

  constructor(private readonly db: Db) {
    this.stmts = {
      insertRun: db.prepare(
        `INSERT INTO action_runs (started_at, kind, move_to, plan_path, pid, status)
         VALUES (@now, @kind, @moveTo, @planPath, @pid, 'running')`,
      ),
      finishRun: db.prepare(
        'UPDATE action_runs SET status = @status, finished_at = @now WHERE id = @id',
      ),
      insertEntry: db.prepare(
        `INSERT INTO action_entries (run_id, step, role, photo_id, group_id, kind, source_path,
           dest_path, trash_info_path, partial_path, size, mtime_ms, content_hash, prior_status,
           state, outcome, reason, created_at, updated_at)
         VALUES (@runId, @step, @role, @photoId, @groupId, @kind, @sourcePath, @destPath,
           @trashInfoPath, @partialPath, @size, @mtimeMs, @contentHash,
           (SELECT status FROM photos WHERE id = @photoId), @state, @outcome, @reason, @now, @now)`,
      ),
      entry: db.prepare<[number], JournalEntry>('SELECT * FROM action_entries WHERE id = ?'),
      setPlace: db.prepare(
        `UPDATE action_entries SET dest_path = @destPath, trash_info_path = @trashInfoPath,
           partial_path = @partialPath, updated_at = @now WHERE id = @id`,
      ),
      setState: db.prepare(
        `UPDATE action_entries SET state = @state, outcome = @outcome, reason = @reason,
           updated_at = @now WHERE id = @id`,
      ),
      beginUndo: db.prepare(
        `UPDATE action_entries SET state = 'undoing', undo_run_id = @undoRunId, updated_at = @now
         WHERE id = @id`,
      ),
      photoGone: db.prepare(`UPDATE photos SET status = 'missing' WHERE id = ?`),
      photoBack: db.prepare(`UPDATE photos SET status = ? WHERE id = ? AND status = 'missing'`),
      inFlight: db.prepare<[], JournalEntry & { owner_pid: number; owner_id: number }>(
        `SELECT e.*, r.pid AS owner_pid, r.id AS owner_id FROM action_entries e
         JOIN action_runs r ON r.id = CASE WHEN e.state = 'undoing' THEN e.undo_run_id ELSE e.run_id END
         WHERE e.state IN ('planned', 'moving', 'undoing')
         ORDER BY e.run_id, e.step, e.id`,
      ),
      runningRuns: db.prepare<[], JournalRun>(`SELECT * FROM action_runs WHERE status = 'running'`),
      undoableRuns: db.prepare<[number], JournalRun>(
        `SELECT r.* FROM action_runs r
         WHERE r.kind IN ('trash', 'move')
           AND EXISTS (SELECT 1 FROM action_entries e WHERE e.run_id = r.id AND e.state = 'done')
         ORDER BY r.id DESC LIMIT ?`,
      ),
      entriesInState: db.prepare<[number, string], JournalEntry>(
        `SELECT * FROM action_entries WHERE run_id = ? AND state = ? ORDER BY step DESC, id DESC`,
      ),
      stepsOfRun: db.prepare<[number, number], { run_id: number; step: number }>(
        `SELECT DISTINCT run_id, step FROM action_entries WHERE run_id = ? OR undo_run_id = ?`,
      ),
      stepEntries: db.prepare<[number, number], JournalEntry>(
        'SELECT * FROM action_entries WHERE run_id = ? AND step = ? ORDER BY id',
      ),
    };
  }

  /** Opens a run owned by this process; returns its id. */
  startRun(kind: RunKind, opts: { moveTo?: string | null; planPath?: string | null } = {}): number {
    const info = this.stmts.insertRun.run({
      now: now(),
      kind,
      moveTo: opts.moveTo ?? null,
      planPath: opts.planPath ?? null,
      pid: process.pid,
    });
    return Number(info.lastInsertRowid);
  }

  /** Closes a run as completed or interrupted. */
  finishRun(id: number, status: Exclude<RunStatus, 'running'>): void {
    this.stmts.finishRun.run({ id, status, now: now() });
  }

  /** Writes the entries of one step in one transaction; returns their ids in order. */
  addEntries(runId: number, entries: NewEntry[]): number[] {
    const insert = this.db.transaction((rows: NewEntry[]) =>
      rows.map((e) =>
        Number(
          this.stmts.insertEntry.run({
            runId,
            now: now(),
            ...e,
            outcome: e.outcome ?? null,
            reason: e.reason ?? null,
          }).lastInsertRowid,
        ),
      ),
    );
    return insert(entries);
  }

  /** One entry; throws when the id does not exist (a bug, never user input). */
  get(id: number): JournalEntry {
    const entry = this.stmts.entry.get(id);
    if (!entry) throw new Error(`journal entry ${id} does not exist`);
    return entry;
  }

  /** Records where the file is being sent, before it moves. */
  setPlace(id: number, place: EntryPlace): void {
    this.stmts.setPlace.run({ id, now: now(), ...place });
  }

  /** Moves an entry to `state` with an outcome code and a reason for people. */
  setState(
    id: number,
    state: EntryState,
    outcome: string | null = null,
    reason: string | null = null,
  ): void {
    this.stmts.setState.run({ id, state, outcome, reason, now: now() });
  }

  /** Marks the file as arrived at its destination and its photo as no longer in the library. */
  markDone(entry: JournalEntry, outcome: string, reason: string | null = null): void {
    this.db.transaction(() => {
      this.setState(entry.id, 'done', outcome, reason);
      if (entry.photo_id !== null) this.stmts.photoGone.run(entry.photo_id);
    })();
  }

  /** Marks an entry as on its way back, owned by undo run `undoRunId`. */
  beginUndo(id: number, undoRunId: number): void {
    this.stmts.beginUndo.run({ id, undoRunId, now: now() });
  }

  /** Marks the file as back at its source and gives its photo its status from before the act. */
  markUndone(entry: JournalEntry, outcome = 'restored', reason: string | null = null): void {
    this.db.transaction(() => {
      this.setState(entry.id, 'undone', outcome, reason);
      if (entry.photo_id !== null) {
        this.stmts.photoBack.run(entry.prior_status ?? 'ok', entry.photo_id);
      }
    })();
  }

  /** Entries caught mid-way whose owning process is gone (killed or crashed). */
  orphanedInFlight(): JournalEntry[] {
    return this.stmts.inFlight.all().filter((e) => !isProcessAlive(e.owner_pid));
  }

  /** Runs marked running whose process is gone. */
  deadRunningRuns(): JournalRun[] {
    return this.stmts.runningRuns.all().filter((r) => !isProcessAlive(r.pid));
  }

  /** The newest `limit` apply runs that still have files at their destination. */
  undoableRuns(limit: number): JournalRun[] {
    return this.stmts.undoableRuns.all(limit);
  }

  /** Entries of a run in one state, last step first. */
  entriesInState(runId: number, state: EntryState): JournalEntry[] {
    return this.stmts.entriesInState.all(runId, state);
  }

  /** The steps a run acted on: its own (an apply) or those it was undoing (an undo). */
  stepsOfRun(runId: number): { runId: number; step: number }[] {
    return this.stmts.stepsOfRun.all(runId, runId).map((r) => ({ runId: r.run_id, step: r.step }));
  }

  /** The entries of one step (a photo and its companions), in order. */
  stepEntries(runId: number, step: number): JournalEntry[] {
    return this.stmts.stepEntries.all(runId, step);
  }
}

function now(): string {
  return new Date().toISOString();
}
