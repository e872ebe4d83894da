/**
 * Review screen state: the open group, which copies are kept (the engine's suggestion
 * preselected), the photo compared against the reference, one zoom and pan shared by both panes,
 * actions with a confirmation before a group would lose every copy, undo, and match labels.
 * When the engine rebuilds the groups (an action, undo, regroup, retrain or head revert), the open
 * group is found again by its photos and reloaded, or, when it no longer exists, the review moves
 * on to the next group (or closes) with a notice.
 */
import type { ActionResultDto, GroupDetailDto, GroupListDto } from '../../src-main/contract/ipc';
import type { Api } from '../lib/api';
import type { NoticeManager } from './notice-manager.svelte';

/** Zoom limits of the compare panes. */
export const MIN_ZOOM = 1;
export const MAX_ZOOM = 8;

export interface View {
  scale: number;
  x: number;
  y: number;
}

export class ReviewManager {
  groupIds = $state<number[]>([]);
  index = $state(0);
  group = $state<GroupDetailDto | null>(null);
  keep = $state<number[]>([]);
  selected = $state(1);
  view = $state<View>({ scale: 1, x: 0, y: 0 });
  /** Set while the user must confirm that a group may lose every copy. */
  pendingConfirm = $state<{ mode: 'trash' | 'move'; count: number } | null>(null);
  better = $state<number | null>(null);
  worse = $state<number | null>(null);
  lastResult = $state<ActionResultDto | null>(null);
  isBusy = $state(false);
  moveTo = $state('');

  anchor = $derived(this.group?.photos[0] ?? null);
  compared = $derived(this.group?.photos[this.selected] ?? null);
  trashCount = $derived(
    this.group ? this.group.photos.filter((p) => !this.keep.includes(p.id)).length : 0,
  );

  /** Cover photo path of each entry of `groupIds`: how a group is found again after a rebuild. */
  private covers: (string | undefined)[] = [];
  /** Bumped by every rebuild; an older, slower refresh then gives way. */
  private generation = 0;

  constructor(
    private readonly api: Api,
    private readonly notices: NoticeManager,
  ) {
    api.on('app:groups:changed', () => void this.refresh());
  }

  /**
   * Opens group `groupId` of the ordered list `ids` (the list the user filtered); `coverPaths`,
   * parallel to `ids`, lets the list survive the engine rebuilding its groups.
   */
  async open(ids: number[], groupId: number, coverPaths: string[] = []): Promise<void> {
    this.generation += 1;
    this.groupIds = ids;
    this.covers = ids.map((_, i) => coverPaths[i]);
    this.index = Math.max(0, ids.indexOf(groupId));
    await this.loadCurrent();
  }

  async loadCurrent(keepChoices = false): Promise<void> {
    const id = this.groupIds[this.index];
    if (id === undefined) {
      this.group = null;
      return;
    }
    try {
      const before = this.group;
      const group = await this.api.call('app:groups:get', { groupId: id });
      // The user's choices stay only when the group still holds exactly the same photos.
      const same =
        keepChoices &&
        before !== null &&
        before.photos.map((p) => p.id).join() === group.photos.map((p) => p.id).join();
      this.group = group;
      this.covers[this.index] = group.photos[0]?.path;
      if (same) return;
      this.keep = group.photos.filter((p) => p.keep).map((p) => p.id);
      this.selected = group.photos.length > 1 ? 1 : 0;
      this.better = null;
      this.worse = null;
      this.resetView();
    } catch (err) {
      this.notices.error(err);
    }
  }

  /**
   * The engine rebuilt its groups (ids are not stable across a rebuild): finds the open group
   * again by its photos and reloads it; when it is gone, shows the next group of the list, or
   * closes the review, with a notice. The other groups of the list are found by their cover photo.
   */
  async refresh(): Promise<void> {
    if (!this.group) return;
    const generation = ++this.generation;
    let list: GroupListDto;
    try {
      list = await this.api.call('app:groups:list', {});
    } catch (err) {
      this.notices.error(err);
      return;
    }
    const current = this.group;
    if (generation !== this.generation || !current) return;
    const byCover = new Map<string, GroupListDto['groups']>();
    for (const g of list.groups) byCover.set(g.coverPath, [...(byCover.get(g.coverPath) ?? []), g]);
    const sameKindFirst = (found: GroupListDto['groups']) =>
      found.find((g) => g.kind === current.kind) ?? found[0];
    // The open group again: the new group whose cover is one of its photos (the anchor first).
    const again = current.photos
      .map((p) => byCover.get(p.path))
      .filter((found) => found !== undefined)
      .map(sameKindFirst)[0];
    const ids: number[] = [];
    const covers: string[] = [];
    let index = -1;
    this.groupIds.forEach((_, i) => {
      const found =
        i === this.index
          ? again
          : this.covers[i] !== undefined
            ? sameKindFirst(byCover.get(this.covers[i]!) ?? [])
            : undefined;
      if (!found) {
        if (i === this.index) index = ids.length;
        return;
      }
      if (!ids.includes(found.id)) {
        ids.push(found.id);
        covers.push(found.coverPath);
      }
      if (i === this.index) index = ids.indexOf(found.id);
    });
    this.groupIds = ids;
    this.covers = covers;
    if (again) {
      this.index = index;
      await this.loadCurrent(true);
      return;
    }
    // Gone (its copies were trashed or moved, or it was regrouped away).
    if (index < ids.length) {
      this.index = index;
      this.notices.info('The group you were reviewing no longer exists; showing the next one.');
      await this.loadCurrent();
    } else {
      this.index = Math.max(0, ids.length - 1);
      this.group = null;
      this.pendingConfirm = null;
      this.notices.info('The group you were reviewing no longer exists; review closed.');
    }
  }

  async step(delta: number): Promise<void> {
    const next = this.index + delta;
    if (next < 0 || next >= this.groupIds.length) return;
    this.index = next;
    await this.loadCurrent();
  }

  selectPhoto(delta: number): void {
    const count = this.group?.photos.length ?? 0;
    if (count < 2) return;
    this.selected = (this.selected + delta + count) % count;
  }

  isKept(photoId: number): boolean {
    return this.keep.includes(photoId);
  }

  toggleKeep(photoId: number): void {
    this.keep = this.isKept(photoId)
      ? this.keep.filter((id) => id !== photoId)
      : [...this.keep, photoId];
  }

  /** Marks the selected photo as the one to keep, alongside any already kept. */
  keepSelected(): void {
    const photo = this.compared;
    if (photo && !this.isKept(photo.id)) this.keep = [...this.keep, photo.id];
  }

  zoomBy(factor: number, originX = 0, originY = 0): void {
    const scale = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.view.scale * factor));
    const ratio = scale / this.view.scale;
    this.view = {
      scale,
      x: scale === 1 ? 0 : originX - (originX - this.view.x) * ratio,
      y: scale === 1 ? 0 : originY - (originY - this.view.y) * ratio,
    };
  }

  panBy(dx: number, dy: number): void {
    if (this.view.scale === 1) return;
    this.view = { ...this.view, x: this.view.x + dx, y: this.view.y + dy };
  }

  resetView(): void {
    this.view = { scale: 1, x: 0, y: 0 };
  }

  /**
   * Trashes (or moves) every copy not kept. When none is kept, asks for confirmation first;
   * `confirmed` is the answer.
   */
  async apply(mode: 'trash' | 'move', confirmed = false): Promise<void> {
    const group = this.group;
    if (!group || this.isBusy || this.trashCount === 0) return;
    if (this.keep.length === 0 && !confirmed) {
      this.pendingConfirm = { mode, count: group.photos.length };
      return;
    }
    this.pendingConfirm = null;
    this.isBusy = true;
    try {
      const result = await this.api.call('app:actions:apply', {
        groupId: group.id,
        keep: this.keep,
        mode,
        ...(mode === 'move' && this.moveTo ? { moveTo: this.moveTo } : {}),
        confirmedLoseAll: confirmed,
      });
      this.lastResult = result;
      const done = result.outcomes.filter((o) => o.outcome === 'trashed' || o.outcome === 'moved');
      const verb = mode === 'trash' ? 'sent to the trash' : 'moved';
      this.notices.info(`${done.length} ${done.length === 1 ? 'photo' : 'photos'} ${verb}.`);
      for (const o of result.outcomes.filter(
        (x) => x.outcome === 'skipped' || x.outcome === 'failed',
      )) {
        this.notices.error(new Error(`${o.path}: ${o.detail ?? o.outcome}`));
      }
    } catch (err) {
      this.notices.error(err);
    } finally {
      this.isBusy = false;
    }
  }

  cancelConfirm(): void {
    this.pendingConfirm = null;
  }

  async undo(): Promise<void> {
    if (this.isBusy) return;
    this.isBusy = true;
    try {
      const result = await this.api.call('app:actions:undo', {});
      this.lastResult = null;
      const restored = result.outcomes.filter((o) => o.outcome === 'restored').length;
      this.notices.info(`Undone: ${restored} ${restored === 1 ? 'photo' : 'photos'} put back.`);
      for (const o of result.outcomes.filter((x) => x.outcome !== 'restored')) {
        this.notices.error(new Error(`${o.path}: ${o.detail ?? o.outcome}`));
      }
    } catch (err) {
      this.notices.error(err);
    } finally {
      this.isBusy = false;
    }
  }

  /** Marks `photoId` as a better or worse match for the reference; sends the label when both are set. */
  async mark(photoId: number, as: 'better' | 'worse'): Promise<void> {
    if (as === 'better') this.better = photoId;
    else this.worse = photoId;
    if (this.better === this.worse) {
      if (as === 'better') this.worse = null;
      else this.better = null;
    }
    const query = this.anchor?.id;
    if (query === undefined || this.better === null || this.worse === null) return;
    try {
      const counts = await this.api.call('app:labels:add', {
        query,
        better: this.better,
        worse: this.worse,
      });
      this.notices.info(`Label saved (${counts.explicit} in all).`);
      this.better = null;
      this.worse = null;
    } catch (err) {
      this.notices.error(err);
    }
  }
}
