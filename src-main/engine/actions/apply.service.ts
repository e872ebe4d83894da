/**
 * Applying a plan: every `trash` action is checked against the disk, journaled, then carried out
 * (to the trash or to a `--move-to` folder) together with its companions. Per-file outcomes are
 * values; one file that cannot move never stops the rest.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ProblemCode } from '../../contract/errors';
import type { Db } from '../db/database';
import {
  hashFile,
  NODE_FS,
  pathExists,
  transferFile,
  type ActionFs,
  type PausePoint,
} from './file-ops';
import {
  defaultTrashEnv,
  freeTrashName,
  trashDirFor,
  writeTrashInfo,
  type TrashEnv,
} from './freedesktop-trash';
import {
  ActionJournal,
  type EntryPlace,
  type JournalEntry,
  type NewEntry,
} from './journal.repository';
import {
  codeForError,
  describeCode,
  errorDetail,
  type ActionResult,
  type FileResult,
} from './outcomes';
import type { Plan, PlanAction } from './plan.schema';
import { isInside, protectForms, protectingFolder } from './protect';
import { reconcileJournal, type ReconcileReport } from './reconcile.service';
import { removeOwnTrashInfo, restoreEntry } from './restore';
import { moveToSystemTrash } from './system-trash';

/** The escape walk.ts writes for a byte of a file name that is not valid UTF-8. */
const NON_UTF8_ESCAPE = /\\x[0-9A-F]{2}/;

/** What to apply and how; the fields after `protect` are seams for tests. */
export interface ApplyOptions {
  plan: Plan;
  /** The plan file, recorded with the run. */
  planPath?: string;
  /** Move to this folder (absolute) instead of the trash, keeping paths relative to the scanned root. */
  moveTo?: string;
  /** False: a dry run that changes nothing and says what would happen. */
  confirmed: boolean;
  /** Protected folders added to the plan's own. */
  protect?: readonly string[];
  /** Test seams: the file-system calls, pauses inside a move, the platform and trash locations. */
  fs?: ActionFs;
  pause?: (point: PausePoint) => void;
  platform?: NodeJS.Platform;
  trashEnv?: TrashEnv;
  systemTrash?: (file: string) => Promise<void>;
  /** Called after each action, for progress. */
  onResult?: (result: ActionResult) => void;
}

/** The outcome of an apply: one result per plan action, with the run id undo will use. */
export interface ApplyReport {
  runId: number | null;
  dryRun: boolean;
  destination: 'trash' | 'move';
  moveTo?: string;
  results: ActionResult[];
  /** How many actions ended with each outcome. */
  counts: Record<string, number>;
  reconciled: ReconcileReport;
}

/** One file of a step, verified, with its journaled place once planned. */
interface StepFile {
  role: 'photo' | 'companion';
  path: string;
  size: number;
  mtimeMs: number;
  hash: string;
}

interface Context {
  db: Db;
  opts: ApplyOptions;
  fsx: ActionFs;
  journal: ActionJournal;
  runId: number | null;
  protect: string[];
  keepPaths: Set<string>;
  moveBase: string | null;
  trashEnv: TrashEnv;
  useSystemTrash: boolean;
  groups: GroupTracker;
}

/**
 * Reconciles the journal, then carries out the plan's `trash` actions in order. Checks, per action:
 * not also marked keep, no file in a protected folder, not the group's last copy (unless the action
 * says `allowLastCopy`), and size, modification time and sha256 equal to the plan's. Without
 * `confirmed` nothing changes and each result says what would happen.
 */
export async function applyPlan(db: Db, opts: ApplyOptions): Promise<ApplyReport> {
  const fsx = opts.fs ?? NODE_FS;
  const reconciled = reconcileJournal(db, { fs: fsx });
  const journal = new ActionJournal(db);
  const platform = opts.platform ?? process.platform;
  const keepPaths = new Set(
    opts.plan.actions.filter((a) => a.action === 'keep').map((a) => a.path),
  );
  const ctx: Context = {
    db,
    opts,
    fsx,
    journal,
    runId: null,
    protect: protectForms([...opts.plan.protect, ...(opts.protect ?? [])]),
    keepPaths,
    moveBase: opts.moveTo ? moveBaseFor(opts.plan) : null,
    trashEnv: opts.trashEnv ?? defaultTrashEnv(),
    useSystemTrash: !opts.moveTo && (platform === 'darwin' || platform === 'win32'),
    groups: new GroupTracker(opts.plan, keepPaths),
  };
  if (opts.confirmed) {
    ctx.runId = journal.startRun(opts.moveTo ? 'move' : 'trash', {
      moveTo: opts.moveTo,
      planPath: opts.planPath,
    });
  }

  const results: ActionResult[] = [];
  const seen = new Set<string>();
  let step = 0;
  for (const action of opts.plan.actions) {
    const result =
      action.action === 'keep'
        ? keptResult(action)
        : await applyAction(ctx, action, (step += 1), seen);
    seen.add(action.path);
    results.push(result);
    opts.onResult?.(result);
  }
  if (ctx.runId !== null) journal.finishRun(ctx.runId, 'completed');
  return {
    runId: ctx.runId,
    dryRun: !opts.confirmed,
    destination: opts.moveTo ? 'move' : 'trash',
    ...(opts.moveTo ? { moveTo: opts.moveTo } : {}),
    results,
    counts: countOutcomes(results),
    reconciled,
  };
}

async function applyAction(
  ctx: Context,
  action: PlanAction,
  step: number,
  seen: Set<string>,
): Promise<ActionResult> {
  const refusal = refuse(ctx, action, seen);
  if (refusal) return refusal;
  const verified = verifyStep(action);
  if ('code' in verified) {
    ctx.groups.discard(action);
    return stepResult(action, 'skipped', verified.code, verified.detail);
  }
  if (!ctx.opts.confirmed) {
    const dry = dryRunResult(ctx, action, verified.files);
    if (dry.outcome !== 'skipped') ctx.groups.removed(action);
    return dry;
  }

  const result = await executeStep(ctx, action, step, verified.files);
  if (result.outcome === 'trashed' || result.outcome === 'moved') ctx.groups.removed(action);
  return result;
}

/** The checks that need no reading of the file: duplicates, keep conflicts, protection, last copy. */
function refuse(ctx: Context, action: PlanAction, seen: Set<string>): ActionResult | null {
  if (seen.has(action.path)) return stepResult(action, 'skipped', 'LISTED_TWICE');
  if (ctx.keepPaths.has(action.path)) return stepResult(action, 'skipped', 'KEEP_CONFLICT');
  for (const file of [action.path, ...action.companions.map((c) => c.path)]) {
    const folder = protectingFolder(file, ctx.protect);
    if (folder)
      return stepResult(
        action,
        'skipped',
        'PROTECTED_FOLDER',
        file === action.path ? folder : `${file} in ${folder}`,
      );
  }
  if (ctx.groups.copiesLeftWithout(action) === 0 && !action.allowLastCopy) {
    return stepResult(action, 'skipped', 'LAST_COPY', `group ${action.group}`);
  }
  return null;
}

/** Checks every file of the step against the plan and hashes it; the first mismatch skips the step. */
function verifyStep(
  action: PlanAction,
): { files: StepFile[] } | { code: ProblemCode; detail: string } {
  const wanted = [
    {
      role: 'photo' as const,
      path: action.path,
      size: action.size,
      mtimeMs: action.mtimeMs,
      hash: action.contentHash,
    },
    ...action.companions.map((c) => ({ role: 'companion' as const, ...c, hash: c.contentHash })),
  ];
  const files: StepFile[] = [];
  for (const w of wanted) {
    const prefix = w.role === 'companion' ? `companion ${w.path}: ` : '';
    let stat: fs.Stats;
    try {
      stat = fs.statSync(w.path);
    } catch {
      // Limitation: paths are handled as text here, and a name that is not valid UTF-8 is only
      // known by its escaped form (\xNN), which names no file on disk.
      const detail = NON_UTF8_ESCAPE.test(path.basename(w.path))
        ? 'its name is not valid UTF-8, and Doppel cannot move such files yet (it scans and ' +
          'groups them): rename it and scan again'
        : 'not found';
      return { code: 'SOURCE_MISSING', detail: `${prefix}${detail}` };
    }
    if (!stat.isFile())
      return { code: 'CHANGED_SINCE_PLAN', detail: `${prefix}no longer a plain file` };
    if (stat.size !== w.size)
      return {
        code: 'CHANGED_SINCE_PLAN',
        detail: `${prefix}size ${stat.size} bytes, plan says ${w.size}`,
      };
    if (Math.abs(stat.mtimeMs - w.mtimeMs) >= 1)
      return {
        code: 'CHANGED_SINCE_PLAN',
        detail: `${prefix}modified ${new Date(stat.mtimeMs).toISOString()}`,
      };
    let hash: string;
    try {
      hash = hashFile(w.path);
    } catch (err) {
      return { code: codeForError(err), detail: `${prefix}${errorDetail(err)}` };
    }
    if (w.hash && hash !== w.hash)
      return { code: 'CHANGED_SINCE_PLAN', detail: `${prefix}content differs` };
    files.push({ role: w.role, path: w.path, size: w.size, mtimeMs: w.mtimeMs, hash });
  }
  return { files };
}

function dryRunResult(ctx: Context, action: PlanAction, files: StepFile[]): ActionResult {
  const outcome = ctx.opts.moveTo ? 'would-move' : 'would-trash';
  const lastCopy =
    ctx.groups.copiesLeftWithout(action) === 0
      ? ' (the last copy of its group; the plan allows it)'
      : '';
  const fileResults: FileResult[] = files.map((f) => {
    const destination = ctx.opts.moveTo ? moveDestination(ctx, f.path) : undefined;
    if (destination && pathExists(destination)) {
      return {
        path: f.path,
        outcome: 'skipped',
        code: 'NAME_TAKEN',
        reason: describeCode('NAME_TAKEN', destination),
        destination,
      };
    }
    const reason = `${outcome.replace('-', ' ')}${lastCopy}`;
    return { path: f.path, outcome, reason, ...(destination ? { destination } : {}) };
  });
  const [photo, ...companions] = fileResults;
  return { ...photo, group: action.group, companions };
}

/**
 * Journals the step's files as `planned` (with their exact destinations), then moves them one by
 * one. When one fails, the ones already moved come back, so a photo and its companions stay
 * together.
 */
async function executeStep(
  ctx: Context,
  action: PlanAction,
  step: number,
  files: StepFile[],
): Promise<ActionResult> {
  const runId = ctx.runId!;
  let places: EntryPlace[];
  try {
    places = files.map((f, i) => placeFor(ctx, f, step, i));
  } catch (err) {
    return stepResult(action, 'failed', codeForError(err), errorDetail(err));
  }
  const taken = places.findIndex((p) => p.destPath !== null && pathExists(p.destPath));
  if (taken >= 0) return stepResult(action, 'skipped', 'NAME_TAKEN', places[taken].destPath!);

  const ids = ctx.journal.addEntries(
    runId,
    files.map((f, i) => newEntry(ctx, action, step, f, places[i])),
  );
  ctx.opts.pause?.('journaled');
  const done: FileResult[] = [];
  for (let i = 0; i < ids.length; i += 1) {
    const outcome = await moveOne(ctx, ctx.journal.get(ids[i]));
    if (outcome.outcome === 'failed') return abandonStep(ctx, action, ids, i, outcome);
    done.push(outcome);
  }
  const [photo, ...companions] = done;
  return { ...photo, group: action.group, companions };
}

async function moveOne(ctx: Context, entry: JournalEntry): Promise<FileResult> {
  const outcome = entry.kind === 'trash' ? 'trashed' : 'moved';
  let infoWritten = false;
  try {
    if (entry.trash_info_path) {
      entry = reserveTrashName(ctx, entry);
      infoWritten = true;
      ctx.opts.pause?.('info-written');
    }
    ctx.journal.setState(entry.id, 'moving');
    if (entry.dest_path) {
      fs.mkdirSync(path.dirname(entry.dest_path), { recursive: true });
      transferFile(entry.source_path, entry.dest_path, {
        fs: ctx.fsx,
        partial: entry.partial_path!,
        expectedHash: entry.content_hash!,
        pause: ctx.opts.pause,
      });
    } else {
      await (ctx.opts.systemTrash ?? moveToSystemTrash)(entry.source_path);
    }
  } catch (err) {
    if (infoWritten) removeOwnTrashInfo(entry, ctx.fsx);
    const code = codeForError(err);
    const reason = describeCode(code, errorDetail(err));
    ctx.journal.setState(entry.id, 'failed', code, reason);
    return { path: entry.source_path, outcome: 'failed', code, reason };
  }
  ctx.journal.markDone(entry, outcome);
  ctx.opts.pause?.('done');
  return {
    path: entry.source_path,
    outcome,
    reason: outcome,
    ...(entry.dest_path ? { destination: entry.dest_path } : {}),
  };
}

/**
 * Writes the `.trashinfo` exclusively under the journaled name; when another program took that
 * name since, the next free one is journaled first and tried in turn.
 */
function reserveTrashName(ctx: Context, entry: JournalEntry): JournalEntry {
  for (;;) {
    try {
      writeTrashInfo(entry.trash_info_path!, entry.source_path, new Date());
      return entry;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const infoDir = path.dirname(entry.trash_info_path!);
    const trash = {
      root: path.dirname(infoDir),
      files: path.dirname(entry.dest_path!),
      info: infoDir,
      isHome: false,
    };
    const name = freeTrashName(trash, entry.source_path);
    ctx.journal.setPlace(entry.id, {
      destPath: path.join(trash.files, name),
      trashInfoPath: path.join(trash.info, `${name}.trashinfo`),
      partialPath: entry.partial_path,
    });
    entry = ctx.journal.get(entry.id);
  }
}

/** A file of the step failed: put back those already moved, mark the rest, report the step. */
function abandonStep(
  ctx: Context,
  action: PlanAction,
  ids: number[],
  failedAt: number,
  failure: FileResult,
): ActionResult {
  for (let i = 0; i < ids.length; i += 1) {
    if (i === failedAt) continue;
    const entry = ctx.journal.get(ids[i]);
    if (i < failedAt) {
      restoreEntry(ctx.journal, entry, {
        fs: ctx.fsx,
        runId: ctx.runId!,
        successCode: 'BUNDLE_KEPT_TOGETHER',
      });
    } else {
      ctx.journal.setState(
        entry.id,
        'skipped',
        'BUNDLE_KEPT_TOGETHER',
        describeCode('BUNDLE_KEPT_TOGETHER'),
      );
    }
  }
  const companionNote = failedAt === 0 ? '' : `companion ${failure.path}: `;
  return stepResult(
    action,
    'failed',
    failure.code ?? 'ACTION_IO_ERROR',
    `${companionNote}${failure.reason}`,
    true,
  );
}

function placeFor(ctx: Context, file: StepFile, step: number, index: number): EntryPlace {
  const partialName = `.doppel-partial-${ctx.runId}-${step}-${index}`;
  if (ctx.opts.moveTo) {
    const dest = moveDestination(ctx, file.path);
    return {
      destPath: dest,
      trashInfoPath: null,
      partialPath: path.join(path.dirname(dest), partialName),
    };
  }
  if (ctx.useSystemTrash) return { destPath: null, trashInfoPath: null, partialPath: null };
  const trash = trashDirFor(file.path, ctx.trashEnv);
  const name = freeTrashName(trash, file.path);
  return {
    destPath: path.join(trash.files, name),
    trashInfoPath: path.join(trash.info, `${name}.trashinfo`),
    partialPath: path.join(trash.files, partialName),
  };
}

function newEntry(
  ctx: Context,
  action: PlanAction,
  step: number,
  f: StepFile,
  place: EntryPlace,
): NewEntry {
  return {
    step,
    role: f.role,
    photoId: f.role === 'photo' ? (action.photoId ?? photoIdOf(ctx.db, f.path)) : null,
    groupId: action.group,
    kind: ctx.opts.moveTo ? 'move' : 'trash',
    sourcePath: f.path,
    ...place,
    size: f.size,
    mtimeMs: f.mtimeMs,
    contentHash: f.hash,
    state: 'planned',
  };
}

function photoIdOf(db: Db, file: string): number | null {
  const row = db
    .prepare<[string], { id: number }>('SELECT id FROM photos WHERE path = ?')
    .get(file);
  return row?.id ?? null;
}

function moveDestination(ctx: Context, file: string): string {
  return path.join(ctx.opts.moveTo!, path.relative(ctx.moveBase!, file));
}

/**
 * The folder `--move-to` paths are relative to: the scanned root when every moved file lies in
 * one, else the deepest folder common to the roots involved and the files outside any root.
 */
export function moveBaseFor(plan: Plan): string {
  const moving = plan.actions
    .filter((a) => a.action === 'trash')
    .flatMap((a) => [a.path, ...a.companions.map((c) => c.path)]);
  const roots = plan.roots.filter((r) => moving.some((p) => isInside(p, r)));
  const outside = moving
    .filter((p) => !roots.some((r) => isInside(p, r)))
    .map((p) => path.dirname(p));
  const anchors = [...roots, ...outside];
  return anchors.length ? commonFolder(anchors) : path.parse(process.cwd()).root;
}

function commonFolder(dirs: string[]): string {
  const split = dirs.map((d) => path.resolve(d).split(path.sep));
  const first = split[0];
  let n = first.length;
  for (const parts of split.slice(1)) {
    let i = 0;
    while (i < n && i < parts.length && parts[i] === first[i]) i += 1;
    n = i;
  }
  return first.slice(0, n).join(path.sep) || path.sep;
}

function keptResult(action: PlanAction): ActionResult {
  return {
    path: action.path,
    outcome: 'kept',
    reason: action.reason || 'keep',
    group: action.group,
    companions: [],
  };
}

function stepResult(
  action: PlanAction,
  outcome: 'skipped' | 'failed',
  code: ProblemCode,
  detail?: string,
  preformatted = false,
): ActionResult {
  const reason = preformatted && detail ? detail : describeCode(code, detail);
  return { path: action.path, outcome, code, reason, group: action.group, companions: [] };
}

function countOutcomes(results: ActionResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
  return counts;
}

/**
 * Counts, per group, the copies that will still exist: kept copies found on disk unchanged (size
 * and modification time), plus the group's other trash candidates not removed so far.
 *
 * Limitation: a kept copy is recognised by size and modification time, not re-hashed, so one
 * edited in place with its date restored would still count as a copy.
 */
class GroupTracker {
  private readonly keepers = new Map<number, { path: string; size: number; mtimeMs: number }[]>();
  private readonly pending = new Map<number, Set<string>>();
  private readonly alive = new Map<number, number>();

  constructor(plan: Plan, keepPaths: Set<string>) {
    const byPath = new Map(plan.actions.map((a) => [a.path, a]));
    for (const a of plan.actions) {
      const list = this.keepers.get(a.group) ?? [];
      this.keepers.set(a.group, list);
      if (a.action === 'keep') {
        list.push(a);
        continue;
      }
      const kept = a.keptCopy ? byPath.get(a.keptCopy) : undefined;
      if (kept && keepPaths.has(kept.path) && !list.some((k) => k.path === kept.path))
        list.push(kept);
      const pending = this.pending.get(a.group) ?? new Set<string>();
      this.pending.set(a.group, pending.add(a.path));
    }
  }

  /** Copies of the action's group left if this action's photo went too. */
  copiesLeftWithout(action: PlanAction): number {
    const others = [...(this.pending.get(action.group) ?? [])].filter((p) => p !== action.path);
    return this.keptOnDisk(action.group) + others.length;
  }

  removed(action: PlanAction): void {
    this.pending.get(action.group)?.delete(action.path);
  }

  /** A candidate that turned out changed or missing is no longer a copy of the group. */
  discard(action: PlanAction): void {
    this.removed(action);
  }

  private keptOnDisk(group: number): number {
    let count = this.alive.get(group);
    if (count === undefined) {
      count = (this.keepers.get(group) ?? []).filter((k) => isUnchanged(k)).length;
      this.alive.set(group, count);
    }
    return count;
  }
}

function isUnchanged(file: { path: string; size: number; mtimeMs: number }): boolean {
  const stat = fs.statSync(file.path, { throwIfNoEntry: false });
  return Boolean(
    stat && stat.isFile() && stat.size === file.size && Math.abs(stat.mtimeMs - file.mtimeMs) < 1,
  );
}
