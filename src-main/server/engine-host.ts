/**
 * The engine behind the UI: one handler per contract channel, run off the serving thread (in a
 * worker thread for browser mode, an Electron utility process for the desktop app). Requests
 * arrive already validated by the serving side and are validated again here, since a host must
 * not trust its port either.
 */
import { RAW_PAIR_LABEL } from '../engine/scan/grouping.service';
import fs from 'node:fs';
import path from 'node:path';
import { AppError, PROBLEM_CATALOG, type ProblemCode } from '../contract/errors';
import {
  describeSimilarity,
  isChannel,
  parseRequest,
  type Channel,
  type Envelope,
  type EventMap,
  type EventName,
  type GroupDetailDto,
  type GroupListDto,
  type GroupSummaryDto,
  type KeepCriterionName,
  type LibraryDto,
  type RequestOf,
  type ResponseOf,
  type SettingsDto,
} from '../contract/ipc';
import { GROUP_KINDS, type GroupKind } from '../contract/types';
import { decideKeep, type KeepCandidate } from '../core/keep-rule';
import { CompanionRepository } from '../engine/db/companion.repository';
import { openDatabase, type Db } from '../engine/db/database';
import { isInside, PhotoRepository, type PhotoRow } from '../engine/db/photo.repository';
import { createLogger } from '../engine/log/logger';
import { describeBundles, type BundleInfo } from '../engine/scan/bundle.service';
import { currentModel } from '../engine/learn/head.service';
import { loadModel, defaultModelDir, type LoadedModel } from '../engine/ml/model-loader';
import { currentThresholds, regroupFromCache } from '../engine/scan/grouping.service';
import { createActionsService, type ActionsService } from './actions.adapter';
import { createLearnService, type LearnService } from './learn.adapter';
import { JobManager } from './jobs';
import { resolveMediaPath } from './media';
import { toWireError } from './wire-error';
import type { HostPort, HostReply, HostRequest, MediaResolution } from './protocol';

const log = createLogger('engine-host');

/** What a host is started with. */
export interface EngineHostOptions {
  dbFile: string;
  /** Model folder; default: DOPPEL_MODEL_DIR, else the shipped model. */
  modelDir?: string;
  emit: <E extends EventName>(name: E, payload: EventMap[E]) => void;
}

type StoredGroupRow = ReturnType<PhotoRepository['listGroups']>[number];

type Handlers = { [C in Channel]: (req: RequestOf<C>) => Promise<ResponseOf<C>> | ResponseOf<C> };

const LIBRARY_KEY = 'app.library';
const UI_KEY = 'app.settings';
const PROVIDER_IN_USE_KEY = 'app.provider-in-use';

/** The library as saved: what the app added, and the scan roots the user removed from it. */
interface StoredLibrary extends LibraryDto {
  removedScanRoots: string[];
}

interface StoredUiSettings {
  provider: SettingsDto['provider'];
  keepOrder: KeepCriterionName[];
  theme: SettingsDto['theme'];
  moveTo: string | null;
}

const DEFAULT_UI: StoredUiSettings = {
  provider: 'auto',
  keepOrder: ['resolution', 'size', 'format', 'exif', 'sharpness', 'date'],
  theme: 'system',
  moveTo: null,
};

/**
 * The engine host: owns the database connection used for queries and actions, the job manager
 * (scans run in their own worker thread) and the adapters to the actions and learning engines.
 */
export class EngineHost {
  readonly db: Db;
  readonly repo: PhotoRepository;
  private shipped: LoadedModel | null = null;
  private readonly jobs: JobManager;
  private readonly actions: ActionsService;
  private readonly learn: LearnService;
  private readonly handlers: Handlers;
  private readonly options: EngineHostOptions;
  /**
   * The stored groups and their summaries, read once per change: reading 10,000 groups with their
   * keep decisions takes about a second, and opening one group must not repeat that.
   */
  private groupsCache: {
    stored: StoredGroupRow[];
    byId: Map<number, StoredGroupRow>;
    list: GroupListDto;
    /** Bundles and companions of every readable photo, worked out when a group is first opened. */
    bundles?: BundleInfo;
  } | null = null;

  constructor(options: EngineHostOptions) {
    // Every "groups changed" event also drops the cache, whoever sends it.
    this.options = {
      ...options,
      emit: (name, payload) => {
        if (name === 'app:groups:changed') this.groupsCache = null;
        options.emit(name, payload);
      },
    };
    this.db = openDatabase(options.dbFile);
    this.repo = new PhotoRepository(this.db);
    this.jobs = new JobManager({
      dbFile: options.dbFile,
      modelDir: this.modelDir(),
      emit: this.options.emit,
      onScanDone: (summary) => {
        this.repo.setSetting(PROVIDER_IN_USE_KEY, summary.provider);
        this.options.emit('app:groups:changed', { reason: 'scan' });
      },
    });
    this.actions = createActionsService(this.db);
    this.learn = createLearnService({
      db: this.db,
      dbFile: options.dbFile,
      modelDir: this.modelDir(),
      shipped: () => this.shippedModel(),
    });
    this.handlers = this.createHandlers();
  }

  /** Runs one call and wraps its outcome in an envelope; never throws. */
  async call(channel: unknown, payload: unknown): Promise<Envelope<unknown>> {
    if (!isChannel(channel)) {
      return fail(new AppError('UNKNOWN_CHANNEL', { channel: String(channel).slice(0, 80) }));
    }
    const parsed = parseRequest(channel, payload);
    if (!parsed.ok)
      return fail(new AppError('INVALID_REQUEST', { channel, detail: parsed.reason }));
    try {
      const handler = this.handlers[channel] as (req: unknown) => unknown;
      return { ok: true, value: await handler(parsed.value) };
    } catch (err) {
      return fail(err);
    }
  }

  /**
   * Resolves a media request against the library folders (see media.ts for the rules): only a
   * photo the database holds as readable (`ok`), by exact path, is served.
   */
  resolveMedia(requested: string): Promise<MediaResolution> {
    return resolveMediaPath(
      requested,
      this.library().folders,
      (exact) => this.repo.findByPath(exact)?.status === 'ok',
    );
  }

  /** Cancels running jobs and closes the database. */
  async close(): Promise<void> {
    await this.jobs.shutdown();
    this.db.close();
  }

  private modelDir(): string {
    return path.resolve(this.options.modelDir ?? process.env.DOPPEL_MODEL_DIR ?? defaultModelDir());
  }

  private shippedModel(): LoadedModel {
    this.shipped ??= loadModel(this.modelDir());
    return this.shipped;
  }

  /** The shipped network with the user's current head (a retrained one, once adopted). */
  private getModel(): LoadedModel {
    return currentModel(this.db, this.shippedModel());
  }

  /** The library as stored: the folders added in the app, and the scan roots removed in it. */
  private storedLibrary(): StoredLibrary {
    const saved = this.repo.getSetting(LIBRARY_KEY);
    const empty: StoredLibrary = {
      folders: [],
      exclusions: [],
      protectedFolders: [],
      removedScanRoots: [],
    };
    return saved ? { ...empty, ...(JSON.parse(saved) as Partial<StoredLibrary>) } : empty;
  }

  /**
   * The library: the folders added in the app, then the roots of completed scans (a library
   * scanned with `doppel scan` shows in the app), each folder once. A scan root inside a folder
   * already listed, or removed in the app, is left out.
   */
  private library(): LibraryDto {
    const stored = this.storedLibrary();
    const removed = new Set(stored.removedScanRoots);
    const scanned = completedScanRoots(this.db).filter((r) => !removed.has(r));
    const listed = [...stored.folders, ...scanned];
    const folders = [...stored.folders];
    for (const root of scanned) {
      if (folders.includes(root) || listed.some((f) => f !== root && isInside(root, f))) continue;
      folders.push(root);
    }
    return {
      folders,
      exclusions: stored.exclusions,
      protectedFolders: stored.protectedFolders,
    };
  }

  /** Saves a change that alters keep decisions (protected folders): summaries are recomputed. */
  private saveLibraryDroppingGroups(change: Partial<StoredLibrary>): LibraryDto {
    this.groupsCache = null;
    return this.saveLibrary(change);
  }

  /** Saves `change` over the stored library and answers the library as the app sees it. */
  private saveLibrary(change: Partial<StoredLibrary>): LibraryDto {
    this.repo.setSetting(LIBRARY_KEY, JSON.stringify({ ...this.storedLibrary(), ...change }));
    return this.library();
  }

  private uiSettings(): StoredUiSettings {
    const saved = this.repo.getSetting(UI_KEY);
    return saved
      ? { ...DEFAULT_UI, ...(JSON.parse(saved) as Partial<StoredUiSettings>) }
      : DEFAULT_UI;
  }

  private settings(): SettingsDto {
    const ui = this.uiSettings();
    let thresholds = { nearDuplicate: 0, similar: 0 };
    try {
      thresholds = currentThresholds(this.repo, this.getModel());
    } catch (err) {
      log.warn(`no model to read thresholds from: ${(err as Error).message}`);
    }
    return {
      ...ui,
      providerInUse: this.repo.getSetting(PROVIDER_IN_USE_KEY) ?? null,
      thresholds,
    };
  }

  private createHandlers(): Handlers {
    return {
      'app:library:get': () => this.library(),
      'app:library:add-folder': (req) => this.addFolder(req.path),
      'app:library:remove-folder': (req) => this.removeFolder(req.path),
      'app:library:set-exclusions': (req) =>
        this.saveLibrary({ exclusions: [...new Set(req.patterns)] }),
      'app:library:set-protected': (req) =>
        this.saveLibraryDroppingGroups({
          protectedFolders: req.folders.map((f) => path.resolve(f)),
        }),
      'app:library:pick-folder': () => {
        throw new AppError('NOT_SUPPORTED', {
          what: 'A folder picker',
          hint: 'Type the folder path instead.',
        });
      },
      'app:scan:start': () => {
        const lib = this.library();
        if (!lib.folders.length) throw new AppError('NO_LIBRARY_FOLDERS');
        return this.jobs.startScan(lib.folders, lib.exclusions, this.uiSettings().provider);
      },
      'app:scan:pause': (req) => this.jobs.pause(req.jobId),
      'app:scan:resume': (req) => this.jobs.resume(req.jobId),
      'app:scan:cancel': (req) => this.jobs.cancel(req.jobId),
      'app:jobs:list': () => this.jobs.list(),
      'app:problems:list': () => ({
        problems: this.repo.listProblems().map((p) => ({
          path: p.path,
          code: p.problem_code as ProblemCode,
          reason: p.problem_detail ?? PROBLEM_CATALOG[p.problem_code as ProblemCode],
        })),
      }),
      'app:groups:list': (req) => this.listGroups(req.kind),
      'app:groups:get': (req) => this.groupDetail(req.groupId),
      'app:groups:regroup': (req) => {
        const model = this.getModel();
        // Saved only once the regroup went through, as `doppel groups --near/--similar` does.
        regroupFromCache(this.repo, new CompanionRepository(this.db), model, req);
        this.repo.setSetting('thresholds', JSON.stringify(req));
        this.options.emit('app:groups:changed', { reason: 'regroup' });
        return this.listGroups(undefined);
      },
      'app:actions:apply': (req) => this.applyAction(req),
      'app:actions:undo': async () => {
        const result = await this.actions.undoLast();
        if (result.groupsChanged) this.regroupAfter('undo');
        return result;
      },
      'app:labels:add': (req) => {
        const [query, better, worse] = [req.query, req.better, req.worse].map((id) =>
          this.photo(id),
        );
        return this.learn.addLabel(query.path, better.path, worse.path);
      },
      'app:labels:count': () => this.learn.countLabels(),
      'app:learn:retrain': () =>
        this.jobs.runInline('retrain', async (report) => {
          // The learning engine refreshes embeddings and groups itself when it adopts a head.
          const result = await this.learn.retrain(report);
          if (result.adopted) this.options.emit('app:groups:changed', { reason: 'retrain' });
          return { retrain: result };
        }),
      'app:learn:heads': () => this.learn.listHeads(),
      'app:learn:revert': async (req) => {
        const heads = await this.learn.revert(req.version);
        this.options.emit('app:groups:changed', { reason: 'revert' });
        return heads;
      },
      'app:settings:get': () => this.settings(),
      'app:settings:set': (req) => {
        this.groupsCache = null;
        const next = { ...this.uiSettings() };
        for (const [key, value] of Object.entries(req)) {
          if (value !== undefined) Object.assign(next, { [key]: value });
        }
        this.repo.setSetting(UI_KEY, JSON.stringify(next));
        return this.settings();
      },
    };
  }

  private addFolder(requested: string): LibraryDto {
    // The contract refuses relative paths already; a host checks again rather than resolve one
    // against its own working folder.
    if (!path.isAbsolute(requested)) {
      throw new AppError('BAD_ARGUMENT', {
        name: 'path',
        given: requested,
        accepted: 'an absolute folder path',
      });
    }
    const abs = path.resolve(requested);
    // The root of a disk would make every file on it servable as media and scannable.
    if (path.parse(abs).root === abs) {
      throw new AppError('BAD_ARGUMENT', {
        name: 'library folder',
        given: `${abs} (the root of the whole disk)`,
        accepted: 'the folder that holds your photos',
      });
    }
    let stat: fs.Stats;
    try {
      stat = fs.statSync(abs);
    } catch {
      throw new AppError('FOLDER_NOT_FOUND', { path: abs });
    }
    if (!stat.isDirectory()) throw new AppError('NOT_A_FOLDER', { path: abs });
    const lib = this.library();
    if (lib.folders.includes(abs)) return lib;
    const stored = this.storedLibrary();
    return this.saveLibrary({
      folders: [...stored.folders, abs],
      removedScanRoots: stored.removedScanRoots.filter((r) => r !== abs),
    });
  }

  /** Removes a folder; a scan root stays removed although the scans table still names it. */
  private removeFolder(requested: string): LibraryDto {
    const abs = path.isAbsolute(requested) ? path.resolve(requested) : requested;
    const stored = this.storedLibrary();
    const scanned = completedScanRoots(this.db).includes(abs);
    return this.saveLibrary({
      folders: stored.folders.filter((f) => f !== abs && f !== requested),
      removedScanRoots:
        scanned && !stored.removedScanRoots.includes(abs)
          ? [...stored.removedScanRoots, abs]
          : stored.removedScanRoots,
    });
  }

  private photo(id: number): PhotoRow {
    const row = this.repo.findById(id);
    if (!row) throw new AppError('NOT_FOUND', { what: `photo ${id}` });
    return row;
  }

  private protectedBy(file: string): string | null {
    return this.library().protectedFolders.find((root) => isInside(file, root)) ?? null;
  }

  private listGroups(kind: GroupKind | undefined): GroupListDto {
    const { list } = this.groups();
    return kind ? { ...list, groups: list.groups.filter((g) => g.kind === kind) } : list;
  }

  private storedGroup(groupId: number): StoredGroupRow {
    const group = this.groups().byId.get(groupId);
    if (!group) throw new AppError('NOT_FOUND', { what: `group ${groupId}` });
    return group;
  }

  private groups(): NonNullable<EngineHost['groupsCache']> {
    if (this.groupsCache) return this.groupsCache;
    // A RAW+JPEG pair is one photo (its bundle), not a duplicate to act on: the app, like
    // `doppel groups` without --pairs, never lists the pair groups.
    const stored = this.repo.listGroups().filter((g) => g.label !== RAW_PAIR_LABEL);
    this.groupsCache = {
      stored,
      byId: new Map(stored.map((g) => [g.id, g])),
      list: this.summarise(stored),
    };
    return this.groupsCache;
  }

  /** The bundle of every readable photo, as `groups --json` reports them; kept with the groups. */
  private bundles(): BundleInfo {
    const cache = this.groups();
    cache.bundles ??= describeBundles(
      this.repo.listOkPhotos(),
      new CompanionRepository(this.db).byPhoto(),
    );
    return cache.bundles;
  }

  private summarise(stored: StoredGroupRow[]): GroupListDto {
    const counts = Object.fromEntries(GROUP_KINDS.map((k) => [k, 0])) as Record<GroupKind, number>;
    const reclaimable = { ...counts };
    const order = this.uiSettings().keepOrder;
    const protectedFolders = this.library().protectedFolders;
    const groups: GroupSummaryDto[] = [];
    for (const g of stored) {
      const candidates = g.members.map((m) => toCandidate(m.photo, protectedFolders));
      const decisions = decideKeep(candidates, { order, kind: g.kind });
      const kept = new Set(decisions.filter((d) => d.keep).map((d) => d.path));
      const bytes = g.members.reduce(
        (sum, m) => sum + (kept.has(m.photo.path) ? 0 : m.photo.size),
        0,
      );
      counts[g.kind] += 1;
      reclaimable[g.kind] += bytes;
      groups.push({
        id: g.id,
        kind: g.kind,
        label: g.label === 'burst' ? 'burst' : null,
        count: g.members.length,
        reclaimableBytes: bytes,
        coverPath: g.members[0]?.photo.path ?? '',
        spread: Math.max(0, ...g.members.map((m) => m.distance)),
      });
    }
    let thresholds = { nearDuplicate: 0, similar: 0 };
    try {
      thresholds = currentThresholds(this.repo, this.getModel());
    } catch (err) {
      log.warn(`thresholds unavailable: ${(err as Error).message}`);
    }
    return { groups, counts, reclaimableBytes: reclaimable, thresholds };
  }

  private groupDetail(groupId: number): GroupDetailDto {
    const group = this.storedGroup(groupId);
    const order = this.uiSettings().keepOrder;
    const protectedFolders = this.library().protectedFolders;
    const thresholds = currentThresholds(this.repo, this.getModel());
    const decisions = decideKeep(
      group.members.map((m) => toCandidate(m.photo, protectedFolders)),
      { order, kind: group.kind },
    );
    const byPath = new Map(decisions.map((d) => [d.path, d]));
    const bundles = this.bundles();
    return {
      id: group.id,
      kind: group.kind,
      label: group.label === 'burst' ? 'burst' : null,
      keepOrder: order,
      photos: group.members.map((m, i) => {
        const decision = byPath.get(m.photo.path);
        return {
          id: m.photo.id,
          path: m.photo.path,
          size: m.photo.size,
          width: m.photo.width,
          height: m.photo.height,
          format: m.photo.format,
          takenAt: m.photo.taken_at,
          camera: m.photo.camera,
          exifFields: m.photo.exif_fields,
          distance: m.distance,
          similarity:
            group.kind === 'exact'
              ? i === 0
                ? 'the reference photo of this group'
                : 'identical file (same bytes)'
              : describeSimilarity(m.distance, i === 0, thresholds),
          keep: decision?.keep ?? true,
          keepReason: decision?.reason ?? '',
          isProtected: this.protectedBy(m.photo.path) !== null,
          bundle: bundles.bundle.get(m.photo.id) ?? null,
          companions: bundles.companions.get(m.photo.id) ?? [],
        };
      }),
    };
  }

  private async applyAction(
    req: RequestOf<'app:actions:apply'>,
  ): Promise<ResponseOf<'app:actions:apply'>> {
    const group = this.storedGroup(req.groupId);
    const keep = new Set(req.keep);
    const unknown = req.keep.filter((id) => !group.members.some((m) => m.photo.id === id));
    if (unknown.length)
      throw new AppError('NOT_FOUND', { what: `photo ${unknown[0]} in this group` });
    const remove = group.members.filter((m) => !keep.has(m.photo.id));
    if (remove.length === group.members.length && !req.confirmedLoseAll) {
      throw new AppError('LOSE_ALL_UNCONFIRMED', { count: group.members.length });
    }
    const moveTo = req.mode === 'move' ? (req.moveTo ?? this.uiSettings().moveTo) : null;
    if (req.mode === 'move' && !moveTo) {
      throw new AppError('BAD_ARGUMENT', {
        name: 'moveTo',
        given: '(none)',
        accepted: 'a folder path',
      });
    }
    const library = this.library();
    const result = await this.actions.apply({
      groupId: group.id,
      kind: group.kind,
      members: group.members.map((m) => m.photo),
      keep: req.keep,
      moveTo,
      allowLoseAll: req.confirmedLoseAll,
      protectedFolders: library.protectedFolders,
      roots: library.folders,
      order: this.uiSettings().keepOrder,
    });
    if (result.groupsChanged) this.regroupAfter('action');
    return result;
  }

  /** Rebuilds the groups after files moved or the head changed, and tells the renderer. */
  private regroupAfter(reason: EventMap['app:groups:changed']['reason']): void {
    regroupFromCache(this.repo, new CompanionRepository(this.db), this.getModel());
    this.options.emit('app:groups:changed', { reason });
  }
}

function toCandidate(photo: PhotoRow, protectedFolders: readonly string[]): KeepCandidate {
  return {
    path: photo.path,
    width: photo.width,
    height: photo.height,
    size: photo.size,
    format: photo.format,
    exifFields: photo.exif_fields,
    sharpness: photo.sharpness,
    takenAt: photo.taken_at,
    mtimeMs: photo.mtime_ms,
    contentHash: photo.content_hash,
    mustKeep: protectedOf(photo.path, protectedFolders),
  };
}

function protectedOf(file: string, protectedFolders: readonly string[]): string | null {
  const root = protectedFolders.find((r) => isInside(file, r));
  return root ? `inside protected folder ${root}` : null;
}

/** The roots of every completed scan (CLI or app), oldest first, each once. */
function completedScanRoots(db: Db): string[] {
  const rows = db
    .prepare<[], { roots: string }>(
      `SELECT roots FROM scans WHERE status = 'completed' ORDER BY id`,
    )
    .all();
  const roots = new Set<string>();
  for (const row of rows) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(row.roots);
    } catch {
      continue; // An unreadable row only loses its roots from the library list.
    }
    if (!Array.isArray(parsed)) continue;
    for (const root of parsed) {
      if (typeof root === 'string' && path.isAbsolute(root)) roots.add(path.resolve(root));
    }
  }
  return [...roots];
}

function fail(err: unknown): Envelope<never> {
  return { ok: false, error: toWireError(err) };
}

/**
 * Serves an engine host over `port`: answers calls, media resolutions and close, and forwards
 * events. Used by the browser-mode worker thread and the Electron utility process alike.
 */
export function serveEngine(port: HostPort, options: Omit<EngineHostOptions, 'emit'>): EngineHost {
  const send = (message: HostReply): void => port.postMessage(message);
  const host = new EngineHost({
    ...options,
    emit: (name, payload) => send({ type: 'event', name, payload }),
  });
  port.onMessage((message: HostRequest) => {
    switch (message.type) {
      case 'call':
        void host
          .call(message.channel, message.payload)
          .then((envelope) => send({ type: 'reply', id: message.id, envelope }));
        return;
      case 'media':
        void host
          .resolveMedia(message.path)
          .then((result) => send({ type: 'media-reply', id: message.id, result }));
        return;
      case 'close':
        void host.close().finally(() => send({ type: 'closed', id: message.id }));
        return;
      default:
        log.warn(`unknown host message ${JSON.stringify(message satisfies never)}`);
    }
  });
  send({ type: 'ready' });
  return host;
}
