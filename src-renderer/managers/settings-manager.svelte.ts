/** Settings state: provider (and the one in use), keep-rule order, theme, move destination. */
import type { KeepCriterionName, SettingsDto, Theme } from '../../src-main/contract/ipc';
import type { Api } from '../lib/api';
import type { NoticeManager } from './notice-manager.svelte';

export class SettingsManager {
  settings = $state<SettingsDto | null>(null);
  /** The theme the page shows: the saved choice, or the OS preference for `system`. */
  prefersDark = $state(false);
  effectiveTheme = $derived<'light' | 'dark'>(
    this.settings?.theme === 'light' || this.settings?.theme === 'dark'
      ? this.settings.theme
      : this.prefersDark
        ? 'dark'
        : 'light',
  );

  constructor(
    private readonly api: Api,
    private readonly notices: NoticeManager,
  ) {}

  /** Follows the OS colour scheme (when the window offers matchMedia). */
  followSystemTheme(win: Window): void {
    const query = win.matchMedia?.('(prefers-color-scheme: dark)');
    if (!query) return;
    this.prefersDark = query.matches;
    query.addEventListener('change', (e) => (this.prefersDark = e.matches));
  }

  async load(): Promise<void> {
    try {
      this.settings = await this.api.call('app:settings:get', {});
    } catch (err) {
      this.notices.error(err);
    }
  }

  async update(patch: {
    provider?: SettingsDto['provider'];
    keepOrder?: KeepCriterionName[];
    theme?: Theme;
    moveTo?: string | null;
  }): Promise<void> {
    try {
      this.settings = await this.api.call('app:settings:set', patch);
    } catch (err) {
      this.notices.error(err);
    }
  }

  /** Moves a keep criterion one place up (-1) or down (+1). */
  async moveCriterion(index: number, delta: -1 | 1): Promise<void> {
    const order = [...(this.settings?.keepOrder ?? [])];
    const target = index + delta;
    if (target < 0 || target >= order.length) return;
    [order[index], order[target]] = [order[target], order[index]];
    await this.update({ keepOrder: order });
  }
}
