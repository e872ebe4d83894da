import { cleanup, fireEvent, render, screen } from '@testing-library/svelte';
import { tick } from 'svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import GroupsScreen from '../../../src-renderer/components/groups/GroupsScreen.svelte';
import ScanProgress from '../../../src-renderer/components/library/ScanProgress.svelte';
import ReviewScreen from '../../../src-renderer/components/review/ReviewScreen.svelte';
import SettingsScreen from '../../../src-renderer/components/settings/SettingsScreen.svelte';
import type { SettingsDto } from '../../../src-main/contract/ipc';
import { createHttpTransport } from '../../../src-renderer/lib/api';
import { GroupsManager } from '../../../src-renderer/managers/groups-manager.svelte';
import { LearnManager } from '../../../src-renderer/managers/learn-manager.svelte';
import { NoticeManager } from '../../../src-renderer/managers/notice-manager.svelte';
import { ReviewManager } from '../../../src-renderer/managers/review-manager.svelte';
import { SettingsManager } from '../../../src-renderer/managers/settings-manager.svelte';
import { fakeApi } from './fake-transport';
import { group, groupList, photo } from './fixtures';

afterEach(() => cleanup());

// jsdom has no ResizeObserver; Svelte's bind:clientHeight needs one (it then sees height 0).
globalThis.ResizeObserver ??= class {
  observe(): void {}
  unobserve(): void {}
  disconnect(): void {}
} as unknown as typeof ResizeObserver;

describe('GroupsScreen', () => {
  it('draws only a window of rows of a 10,000-group list', async () => {
    const { api, transport } = fakeApi();
    transport.answer('app:groups:list', () => groupList(10_000));
    const groups = new GroupsManager(api, new NoticeManager());
    await groups.load();
    const started = performance.now();
    render(GroupsScreen, {
      groups,
      mediaUrl: (p: string) => api.mediaUrl(p),
      onOpen: () => undefined,
    });
    const elapsed = performance.now() - started;
    const rows = screen.getAllByRole('listitem');
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(60);
    expect(screen.getByRole('button', { name: /All 10000|All\s+3334/ })).toBeTruthy();
    // Generous bound for a loaded 2-core machine; the row count above is the real check.
    expect(elapsed).toBeLessThan(5000);
  });
});

describe('ScanProgress', () => {
  it('shows progress with rate and ETA, and pause and cancel while running', () => {
    render(ScanProgress, {
      job: {
        id: 'j',
        kind: 'scan',
        state: 'running',
        phase: 'reading',
        done: 50,
        total: 200,
        rate: 12.5,
        etaSeconds: 12,
        startedAt: '',
      },
      canStart: true,
      onStart: () => undefined,
      onPause: () => undefined,
      onResume: () => undefined,
      onCancel: () => undefined,
    });
    expect(screen.getByTestId('scan-status').textContent).toMatch(
      /50 \/ 200.*12\.5 files\/s.*ETA 12 s/s,
    );
    expect(screen.getByRole('button', { name: 'Pause' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Cancel' })).toBeTruthy();
    expect((screen.getByLabelText('Scan progress') as HTMLProgressElement).value).toBe(25);
  });
});

describe('ReviewScreen keyboard', () => {
  it('space toggles keep, k keeps, t trashes the rest, u undoes, arrows move', async () => {
    const { api, transport } = fakeApi();
    transport.answer('app:groups:get', () => group(3, [photo(1), photo(2), photo(3)]));
    transport.answer('app:actions:apply', () => ({ runId: 1, outcomes: [], groupsChanged: true }));
    transport.answer('app:actions:undo', () => ({ runId: 2, outcomes: [], groupsChanged: true }));
    const review = new ReviewManager(api, new NoticeManager());
    await review.open([3], 3);
    render(ReviewScreen, { review, mediaUrl: (p: string) => api.mediaUrl(p) });
    expect(screen.getAllByTestId('photo-card')).toHaveLength(3);

    await fireEvent.keyDown(window, { key: ' ' });
    expect(review.keep).toEqual([1, 2]);
    await fireEvent.keyDown(window, { key: ' ' });
    expect(review.keep).toEqual([1]);
    await fireEvent.keyDown(window, { key: 'ArrowRight' });
    expect(review.compared?.id).toBe(3);
    await fireEvent.keyDown(window, { key: 'k' });
    expect(review.keep).toEqual([1, 3]);
    await fireEvent.keyDown(window, { key: 't' });
    await tick();
    expect(transport.callsTo('app:actions:apply')).toEqual([
      { groupId: 3, keep: [1, 3], mode: 'trash', confirmedLoseAll: false },
    ]);
    await fireEvent.keyDown(window, { key: 'u' });
    expect(transport.callsTo('app:actions:undo')).toHaveLength(1);
  });

  it('shows a confirmation dialog before removing every copy', async () => {
    const { api, transport } = fakeApi();
    transport.answer('app:groups:get', () => group(3, [photo(1), photo(2)]));
    const review = new ReviewManager(api, new NoticeManager());
    await review.open([3], 3);
    render(ReviewScreen, { review, mediaUrl: (p: string) => api.mediaUrl(p) });
    review.toggleKeep(1);
    await fireEvent.keyDown(window, { key: 't' });
    await tick();
    expect(screen.getByRole('alertdialog').textContent).toMatch(/all 2 copies/);
    expect(transport.callsTo('app:actions:apply')).toHaveLength(0);
  });
});

describe('ReviewScreen after its group is gone', () => {
  it('still offers to undo the action that emptied the group', async () => {
    const { api, transport } = fakeApi();
    let groups = [group(3, [photo(1), photo(2)])];
    transport.answer('app:groups:get', () => groups[0]);
    transport.answer('app:groups:list', () => ({
      ...groupList(0),
      groups: groups.map((g) => ({
        ...groupList(1).groups[0],
        id: g.id,
        coverPath: g.photos[0].path,
      })),
    }));
    transport.answer('app:actions:apply', () => ({
      runId: 1,
      outcomes: [{ path: '/lib/photo-2.jpg', outcome: 'moved' }],
      groupsChanged: true,
    }));
    transport.answer('app:actions:undo', () => ({
      runId: 1,
      outcomes: [{ path: '/lib/photo-2.jpg', outcome: 'restored' }],
      groupsChanged: true,
    }));
    const review = new ReviewManager(api, new NoticeManager());
    await review.open([3], 3, ['/lib/photo-1.jpg']);
    render(ReviewScreen, { review, mediaUrl: (p: string) => api.mediaUrl(p) });
    review.moveTo = '/elsewhere';
    await review.apply('move');
    groups = [];
    transport.emit('app:groups:changed', { reason: 'action' });
    await vi.waitFor(() => expect(screen.queryAllByTestId('photo-card')).toHaveLength(0));
    await fireEvent.click(screen.getByRole('button', { name: 'Undo last action' }));
    expect(transport.callsTo('app:actions:undo')).toHaveLength(1);
    await vi.waitFor(() =>
      expect(screen.queryByRole('button', { name: 'Undo last action' })).toBeNull(),
    );
  });
});

describe('ReviewScreen bundles', () => {
  it("shows each copy's bundle badge and the files that travel with it", async () => {
    const { api, transport } = fakeApi();
    transport.answer('app:groups:get', () =>
      group(3, [
        photo(1, {
          bundle: 'raw+jpeg',
          companions: ['/lib/photo-1.CR2', '/lib/photo-1.xmp'],
        }),
        photo(2, { bundle: 'live-photo', companions: ['/lib/photo-2.MOV'] }),
        photo(3, { bundle: 'edited-version' }),
        photo(4),
      ]),
    );
    const review = new ReviewManager(api, new NoticeManager());
    await review.open([3], 3);
    render(ReviewScreen, { review, mediaUrl: (p: string) => api.mediaUrl(p) });
    const cards = screen.getAllByTestId('photo-card');
    const badge = (card: HTMLElement) =>
      card.querySelector('[data-testid="bundle-badge"]')?.textContent ?? null;
    expect(cards.map(badge)).toEqual(['RAW+JPEG', 'Live Photo', 'Edited version', null]);
    const items = (card: HTMLElement) =>
      [...card.querySelectorAll('[aria-label="Companion files"] li')].map((li) => [
        li.textContent,
        li.getAttribute('title'),
      ]);
    expect(items(cards[0])).toEqual([
      ['photo-1.CR2', '/lib/photo-1.CR2'],
      ['photo-1.xmp', '/lib/photo-1.xmp'],
    ]);
    expect(items(cards[1])).toEqual([['photo-2.MOV', '/lib/photo-2.MOV']]);
    expect(cards[3].querySelector('[aria-label="Companion files"]')).toBeNull();
  });
});

describe('SettingsScreen keep rule', () => {
  async function setup() {
    const { api, transport } = fakeApi();
    let saved: SettingsDto = {
      provider: 'auto',
      providerInUse: null,
      thresholds: { nearDuplicate: 0.3, similar: 0.7 },
      keepOrder: ['resolution', 'size', 'format', 'exif', 'sharpness', 'date'],
      theme: 'system',
      moveTo: null,
    };
    transport.answer('app:settings:get', () => saved);
    transport.answer('app:settings:set', (p) => (saved = { ...saved, ...(p as object) }));
    const settings = new SettingsManager(api, new NoticeManager());
    await settings.load();
    render(SettingsScreen, { settings, learn: new LearnManager(api, new NoticeManager()) });
    return { transport, settings };
  }

  const items = () =>
    [...screen.getByRole('list', { name: 'Keep rule order' }).querySelectorAll('li')].map((li) =>
      li.querySelector('span')?.textContent?.replace(/\s+/g, ' ').trim(),
    );

  it('lists the keep criteria in the saved order', async () => {
    await setup();
    expect(items()).toEqual(['resolution', 'size', 'format', 'exif', 'sharpness', 'date']);
  });

  it('moves a criterion with its arrow buttons through the settings call', async () => {
    const { transport } = await setup();
    await fireEvent.click(screen.getByRole('button', { name: 'Move date up' }));
    await vi.waitFor(() => expect(items()[4]).toBe('date'));
    expect(transport.callsTo('app:settings:set')).toEqual([
      { keepOrder: ['resolution', 'size', 'format', 'exif', 'date', 'sharpness'] },
    ]);
    expect(
      (screen.getByRole('button', { name: 'Move resolution up' }) as HTMLButtonElement).disabled,
    ).toBe(true);
  });
});

describe('HTTP transport', () => {
  it('takes the token from the URL, removes it from the address bar and sends it as a header', async () => {
    window.history.replaceState(null, '', '/?token=abc123&x=1');
    const seen: RequestInit[] = [];
    const original = globalThis.fetch;
    globalThis.fetch = (async (_url: string, init: RequestInit) => {
      seen.push(init);
      return new Response(JSON.stringify({ ok: true, value: 1 }));
    }) as typeof fetch;
    try {
      const transport = createHttpTransport(window);
      expect(window.location.search).toBe('?x=1');
      expect(await transport.invoke('app:library:get', {})).toEqual({ ok: true, value: 1 });
      expect((seen[0].headers as Record<string, string>)['x-doppel-token']).toBe('abc123');
      expect(transport.mediaUrl('/a b/c.jpg')).toBe('/media?path=%2Fa%20b%2Fc.jpg');
    } finally {
      globalThis.fetch = original;
    }
  });
});
