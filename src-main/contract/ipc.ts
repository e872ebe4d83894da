/**
 * The one contract between the renderer and the engine, used by Electron IPC and by browser mode
 * over HTTP alike: each channel names its request schema (validated at run time on the receiving
 * side) and its response type. Main handlers, the preload bridge and the renderer's api.ts are all
 * typed from this map, so a missing or renamed handler is a compile error.
 */
import { z } from 'zod';
import type { ErrorCode, ProblemCode } from './errors';
import type { BundleKind, GroupKind, Provider, ScanSummary } from './types';

// ---- DTOs --------------------------------------------------------------------------------------

/** The user's library: folders scanned, glob patterns skipped, folders never touched. */
export interface LibraryDto {
  folders: string[];
  exclusions: string[];
  protectedFolders: string[];
}

export type JobKind = 'scan' | 'retrain';
export type JobState = 'running' | 'paused' | 'done' | 'failed' | 'cancelled';

/** Outcome of a retrain: held-out accuracy before and after, and whether the head was adopted. */
export interface RetrainResultDto {
  before: number;
  after: number;
  adopted: boolean;
  version: number | null;
  reason?: string;
}

/** A long-running job as the UI shows it. Rates are items per second; ETA in seconds. */
export interface JobDto {
  id: string;
  kind: JobKind;
  state: JobState;
  phase: string;
  done: number;
  total: number;
  rate: number;
  etaSeconds: number | null;
  startedAt: string;
  error?: { code: string; message: string };
  summary?: ScanSummary;
  retrain?: RetrainResultDto;
}

/** One row of the group list: enough to draw it without loading its photos. */
export interface GroupSummaryDto {
  id: number;
  kind: GroupKind;
  label: 'burst' | null;
  count: number;
  /** Bytes freed if every copy but the suggested keeper went. */
  reclaimableBytes: number;
  /** Path of the first photo (the group's anchor), for the thumbnail. */
  coverPath: string;
  /** Largest distance to the anchor, 0 for exact groups. */
  spread: number;
}

export interface GroupListDto {
  groups: GroupSummaryDto[];
  counts: Record<GroupKind, number>;
  reclaimableBytes: Record<GroupKind, number>;
  thresholds: { nearDuplicate: number; similar: number };
}

/** One photo inside an opened group, with what the review screen shows about it. */
export interface PhotoDetailDto {
  id: number;
  path: string;
  size: number;
  width: number | null;
  height: number | null;
  format: string | null;
  takenAt: string | null;
  camera: string | null;
  exifFields: number;
  distance: number;
  /** How close to the anchor, in words a person understands. */
  similarity: string;
  keep: boolean;
  keepReason: string;
  isProtected: boolean;
  /** The bundle this photo heads (RAW+JPEG pair, Live Photo, edited version), or null. */
  bundle: BundleKind | null;
  /** Absolute paths of the files that travel with this photo (RAW half, sidecars, videos). */
  companions: string[];
}

export interface GroupDetailDto {
  id: number;
  kind: GroupKind;
  label: 'burst' | null;
  photos: PhotoDetailDto[];
  keepOrder: KeepCriterionName[];
}

export interface ActionOutcomeDto {
  path: string;
  outcome: string;
  detail?: string;
}

export interface ActionResultDto {
  /** Journal run the action belongs to (what undo reverses). */
  runId: number | null;
  outcomes: ActionOutcomeDto[];
  /** Groups were rebuilt; the renderer should reload its list. */
  groupsChanged: boolean;
}

export interface HeadVersionDto {
  version: number;
  createdAt: string;
  active: boolean;
  heldOutBefore: number | null;
  heldOutAfter: number | null;
  note: string | null;
}

export interface LabelCountDto {
  explicit: number;
  implicit: number;
}

export type Theme = 'system' | 'light' | 'dark';
export const KEEP_CRITERION_NAMES = [
  'resolution',
  'size',
  'format',
  'exif',
  'sharpness',
  'date',
] as const;
export type KeepCriterionName = (typeof KEEP_CRITERION_NAMES)[number];

export interface SettingsDto {
  provider: Provider;
  /** The provider the last scan really ran on (`cpu`, `cuda`...), null before any scan. */
  providerInUse: string | null;
  thresholds: { nearDuplicate: number; similar: number };
  keepOrder: KeepCriterionName[];
  theme: Theme;
  /** Where a `move` action sends files when the user picks no folder. */
  moveTo: string | null;
}

export interface ProblemListDto {
  problems: { path: string; code: ProblemCode; reason: string }[];
}

// ---- Schemas -----------------------------------------------------------------------------------

const absPath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.includes('\0'), 'a path cannot contain a NUL character')
  // Written without node:path, which the renderer cannot import: POSIX `/...`, a Windows drive
  // `C:\...` or `C:/...`, or a UNC `\\server\...`. A relative path would resolve against the
  // engine's working folder, which the user never chose.
  .refine((p) => /^(\/|[A-Za-z]:[\\/]|\\\\)/.test(p), 'the path must be absolute');
const id = z.number().int().positive();
const jobId = z.object({ jobId: z.string().min(1).max(64) }).strict();
const distance = z.number().positive().max(2);
const empty = z.object({}).strict();

/** A route: its request schema and, as a phantom, its response type. */
export interface Route<Req extends z.ZodType, Res> {
  request: Req;
  /** Never read at run time; carries the response type. */
  response?: Res;
}

function route<Res>() {
  return <Req extends z.ZodType>(request: Req): Route<Req, Res> => ({ request });
}

/**
 * Every verb of the contract, named `app:domain:action`. Requests are strict objects: unknown
 * keys are refused, so a typo never silently does nothing.
 */
export const CONTRACT = {
  'app:library:get': route<LibraryDto>()(empty),
  'app:library:add-folder': route<LibraryDto>()(z.object({ path: absPath }).strict()),
  'app:library:remove-folder': route<LibraryDto>()(z.object({ path: absPath }).strict()),
  'app:library:set-exclusions': route<LibraryDto>()(
    z.object({ patterns: z.array(z.string().min(1).max(512)).max(200) }).strict(),
  ),
  'app:library:set-protected': route<LibraryDto>()(
    z.object({ folders: z.array(absPath).max(200) }).strict(),
  ),
  /** Native folder picker; only the desktop app has one (browser mode answers NOT_SUPPORTED). */
  'app:library:pick-folder': route<{ path: string | null }>()(empty),
  'app:scan:start': route<JobDto>()(empty),
  'app:scan:pause': route<JobDto>()(jobId),
  'app:scan:resume': route<JobDto>()(jobId),
  'app:scan:cancel': route<JobDto>()(jobId),
  'app:jobs:list': route<JobDto[]>()(empty),
  'app:problems:list': route<ProblemListDto>()(empty),
  'app:groups:list': route<GroupListDto>()(
    z.object({ kind: z.enum(['exact', 'near-duplicate', 'similar']).optional() }).strict(),
  ),
  'app:groups:get': route<GroupDetailDto>()(z.object({ groupId: id }).strict()),
  'app:groups:regroup': route<GroupListDto>()(
    z
      .object({ nearDuplicate: distance, similar: distance })
      .strict()
      .refine((t) => t.nearDuplicate <= t.similar, 'nearDuplicate must not exceed similar'),
  ),
  'app:actions:apply': route<ActionResultDto>()(
    z
      .object({
        groupId: id,
        keep: z.array(id).max(10_000),
        mode: z.enum(['trash', 'move']),
        moveTo: absPath.optional(),
        /** The user confirmed that the group may lose every copy. */
        confirmedLoseAll: z.boolean().default(false),
      })
      .strict(),
  ),
  'app:actions:undo': route<ActionResultDto>()(empty),
  'app:labels:add': route<LabelCountDto>()(
    z
      .object({ query: id, better: id, worse: id })
      .strict()
      .refine((t) => new Set([t.query, t.better, t.worse]).size === 3, 'three different photos'),
  ),
  'app:labels:count': route<LabelCountDto>()(empty),
  'app:learn:retrain': route<JobDto>()(empty),
  'app:learn:heads': route<HeadVersionDto[]>()(empty),
  'app:learn:revert': route<HeadVersionDto[]>()(
    z.object({ version: z.number().int().nonnegative() }).strict(),
  ),
  'app:settings:get': route<SettingsDto>()(empty),
  'app:settings:set': route<SettingsDto>()(
    z
      .object({
        provider: z.enum(['auto', 'cpu', 'cuda', 'dml']).optional(),
        keepOrder: z.array(z.enum(KEEP_CRITERION_NAMES)).min(1).max(6).optional(),
        theme: z.enum(['system', 'light', 'dark']).optional(),
        moveTo: absPath.nullable().optional(),
      })
      .strict(),
  ),
} as const;

export type Channel = keyof typeof CONTRACT;
export const CHANNELS = Object.keys(CONTRACT) as Channel[];

/** The request a channel takes, after validation (defaults filled in). */
export type RequestOf<C extends Channel> = z.output<(typeof CONTRACT)[C]['request']>;
/** The request as a caller writes it (defaults may be left out). */
export type RequestInputOf<C extends Channel> = z.input<(typeof CONTRACT)[C]['request']>;
export type ResponseOf<C extends Channel> = NonNullable<(typeof CONTRACT)[C]['response']>;

/** True when `name` is a channel of the contract (a narrowing guard for untrusted names). */
export function isChannel(name: unknown): name is Channel {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(CONTRACT, name);
}

// ---- Envelopes and events ----------------------------------------------------------------------

/** A failure as it crosses a process boundary: a catalog code and its rendered message. */
export interface WireError {
  code: ErrorCode | 'INTERNAL';
  message: string;
  hint?: string;
}

/** Every reply: thrown errors never cross IPC or HTTP, only this envelope does. */
export type Envelope<T> = { ok: true; value: T } | { ok: false; error: WireError };

/** Events the engine pushes to the renderer (IPC `send`, or server-sent events in browser mode). */
export interface EventMap {
  'app:job:updated': JobDto;
  'app:groups:changed': { reason: 'scan' | 'regroup' | 'action' | 'undo' | 'retrain' | 'revert' };
}
export type EventName = keyof EventMap;
export const EVENT_NAMES: readonly EventName[] = ['app:job:updated', 'app:groups:changed'];

/**
 * Validates an untrusted request for `channel`. Returns the parsed value, or a one-line reason
 * naming the first offending field.
 */
export function parseRequest<C extends Channel>(
  channel: C,
  payload: unknown,
): { ok: true; value: RequestOf<C> } | { ok: false; reason: string } {
  const result = CONTRACT[channel].request.safeParse(payload ?? {});
  if (result.success) return { ok: true, value: result.data as RequestOf<C> };
  const issue = result.error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') : 'request';
  return { ok: false, reason: `${where}: ${issue?.message ?? 'invalid'}` };
}

/**
 * Renders a distance to the group's anchor as words a person understands, relative to the
 * grouping thresholds in force (unit-vector Euclidean distances).
 */
export function describeSimilarity(
  distance: number,
  isAnchor: boolean,
  thresholds: { nearDuplicate: number; similar: number },
): string {
  if (isAnchor) return 'the reference photo of this group';
  if (distance === 0) return 'identical file (same bytes)';
  if (distance <= thresholds.nearDuplicate / 2) return 'the same picture, resized or re-saved';
  if (distance <= thresholds.nearDuplicate) return 'the same picture, edited or cropped';
  if (distance <= (thresholds.nearDuplicate + thresholds.similar) / 2) {
    return 'the same scene, a moment apart';
  }
  return 'a similar scene, clearly different shots';
}
