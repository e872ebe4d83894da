/** Groups screen state: the list, kind and text filters, and the similarity threshold slider. */
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

  /** Moves the slider; regroups through the engine once it rests for REGROUP_DEBOUNCE_MS. */
  setSimilar(value: number): void {
    this.similar = value;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.regroup(), REGROUP_DEBOUNCE_MS);
  }

  async regroup(): Promise<void> {
    this.timer = null;
    const near = Math.min(this.list.thresholds.nearDuplicate, this.similar);
    this.isRegrouping = true;
    try {
      this.apply(
        await this.api.call('app:groups:regroup', { nearDuplicate: near, similar: this.similar }),
      );
    } catch (err) {
      this.notices.error(err);
    } finally {
      this.isRegrouping = false;
    }
  }

  private apply(list: GroupListDto): void {
    this.list = list;
    if (!this.timer) this.similar = list.thresholds.similar;
  }
}
