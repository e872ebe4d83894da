/**
 * Groups screen state: the list, kind and text filters, and the two threshold sliders
 * (near-duplicate and similar), which regroup through the engine, near never above similar.
 */
import type { GroupKind } from '../../src-main/contract/types';
import type { GroupListDto, GroupSummaryDto } from '../../src-main/contract/ipc';
import type { Api } from '../lib/api';
import type { NoticeManager } from './notice-manager.svelte';

const EMPTY_COUNTS: Record<GroupKind, number> = { exact: 0, 'near-duplicate': 0, similar: 0 };

/** Milliseconds the slider must rest before the engine regroups. */
export const REGROUP_DEBOUNCE_MS = 250;

export class GroupsManager {
  list = $state<GroupListDto>({
    groups: [],
    counts: { ...EMPTY_COUNTS },
    reclaimableBytes: { ...EMPTY_COUNTS },
    thresholds: { nearDuplicate: 0, similar: 0 },
  });
  kind = $state<GroupKind | 'all'>('all');
  query = $state('');
  minCount = $state(2);
  /** The `similar` threshold as the slider shows it; the engine regroups when it rests. */
  similar = $state(0);
  /** The `nearDuplicate` threshold as its slider shows it; never above `similar` when sent. */
  near = $state(0);
  isLoading = $state(false);
  isRegrouping = $state(false);

  visible: GroupSummaryDto[] = $derived.by(() => {
    const needle = this.query.trim().toLowerCase();
    return this.list.groups.filter(
      (g) =>
        (this.kind === 'all' || g.kind === this.kind) &&
        g.count >= this.minCount &&
        (!needle || g.coverPath.toLowerCase().includes(needle)),
    );
  });
  totalReclaimable = $derived(
    Object.values(this.list.reclaimableBytes).reduce((sum, n) => sum + n, 0),
  );

  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly api: Api,
    private readonly notices: NoticeManager,
  ) {
    api.on('app:groups:changed', () => void this.load());
  }

  async load(): Promise<void> {
    this.isLoading = true;
    try {
      this.apply(await this.api.call('app:groups:list', {}));
    } catch (err) {
      this.notices.error(err);
    } finally {
      this.isLoading = false;
    }
  }

  /**
   * Moves the similar slider; regroups through the engine once it rests for REGROUP_DEBOUNCE_MS.
   * Lowering it below the near-duplicate threshold lowers that one with it.
   */
  setSimilar(value: number): void {
    this.similar = value;
    if (this.near > value) this.near = value;
    this.schedule();
  }

  /**
   * Moves the near-duplicate slider; regroups once it rests. A value above the similar threshold
   * is refused with a notice (the engine would refuse the pair too) and nothing is sent.
   */
  setNear(value: number): void {
    if (value > this.similar) {
      this.notices.error(
        new Error(
          `The near-duplicate threshold (${value.toFixed(2)}) cannot be above the similar threshold (${this.similar.toFixed(2)}): raise "similar" first.`,
        ),
      );
      return;
    }
    this.near = value;
    this.schedule();
  }

  async regroup(): Promise<void> {
    this.timer = null;
    const near = Math.min(this.near, this.similar);
    this.near = near;
    this.isRegrouping = true;
    try {
      this.apply(
        await this.api.call('app:groups:regroup', { nearDuplicate: near, similar: this.similar }),
      );
    } catch (err) {
      this.notices.error(err);
      // The sliders go back to the thresholds really in force.
      if (!this.timer) this.showThresholds(this.list.thresholds);
    } finally {
      this.isRegrouping = false;
    }
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.regroup(), REGROUP_DEBOUNCE_MS);
  }

  private showThresholds(t: GroupListDto['thresholds']): void {
    this.similar = t.similar;
    this.near = t.nearDuplicate;
  }

  private apply(list: GroupListDto): void {
    this.list = list;
    if (!this.timer) this.showThresholds(list.thresholds);
  }
}
