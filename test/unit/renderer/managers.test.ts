import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { GroupDetailDto, GroupListDto } from '../../../src-main/contract/ipc';
import { ApiError } from '../../../src-renderer/lib/api';
import {
  GroupsManager,
  REGROUP_DEBOUNCE_MS,
} from '../../../src-renderer/managers/groups-manager.svelte';
import { LibraryManager } from '../../../src-renderer/managers/library-manager.svelte';
import { NoticeManager } from '../../../src-renderer/managers/notice-manager.svelte';
import { MAX_ZOOM, ReviewManager } from '../../../src-renderer/managers/review-manager.svelte';
import { SettingsManager } from '../../../src-renderer/managers/settings-manager.svelte';
import { fakeApi } from './fake-transport';
import { group, groupList, photo } from './fixtures';

describe('GroupsManager', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('filters the list by kind, path text and minimum size', async () => {
    const { api, transport } = fakeApi();
    transport.answer('app:groups:list', () => groupList(30));
    const groups = new GroupsManager(api, new NoticeManager());
    await groups.load();
    expect(groups.visible).toHaveLength(30);
    groups.kind = 'exact';
    expect(groups.visible.every((g) => g.kind === 'exact')).toBe(true);
    expect(groups.visible).toHaveLength(10);
    groups.kind = 'all';
    groups.query = 'BEACH';
    expect(groups.visible).toHaveLength(15);
    groups.minCount = 5;
    expect(groups.visible.every((g) => g.count >= 5 && g.coverPath.includes('beach'))).toBe(true);
  });

  it('regroups through the engine once the slider rests, with near never above similar', async () => {
    const { api, transport } = fakeApi();
    transport.answer('app:groups:list', () => groupList(3));
    transport.answer('app:groups:regroup', (p) => ({ ...groupList(1), thresholds: p }));
    const groups = new GroupsManager(api, new NoticeManager());
    await groups.load();
    expect(groups.similar).toBe(0.7);
    groups.setSimilar(0.5);
    groups.setSimilar(0.2);
    expect(transport.callsTo('app:groups:regroup')).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(REGROUP_DEBOUNCE_MS + 10);
    expect(transport.callsTo('app:groups:regroup')).toEqual([{ nearDuplicate: 0.2, similar: 0.2 }]);
    expect(groups.list.groups).toHaveLength(1);
  });

  it('raises the near-duplicate threshold through the same regroup call, never above similar', async () => {
    const { api, transport } = fakeApi();
    const notices = new NoticeManager();
    transport.answer('app:groups:list', () => groupList(3));
    transport.answer('app:groups:regroup', (p) => ({ ...groupList(2), thresholds: p }));
    const groups = new GroupsManager(api, notices);
    await groups.load();
    expect(groups.near).toBe(0.3);
    groups.setNear(0.5);
    await vi.advanceTimersByTimeAsync(REGROUP_DEBOUNCE_MS + 10);
    expect(transport.callsTo('app:groups:regroup')).toEqual([{ nearDuplicate: 0.5, similar: 0.7 }]);
    expect(groups.list.thresholds).toEqual({ nearDuplicate: 0.5, similar: 0.7 });
    expect(groups.near).toBe(0.5);

    // Above similar: refused here with a clear notice, nothing sent.
    groups.setNear(0.9);
    await vi.advanceTimersByTimeAsync(REGROUP_DEBOUNCE_MS + 10);
    expect(transport.callsTo('app:groups:regroup')).toHaveLength(1);
    expect(groups.near).toBe(0.5);
    expect(notices.notices.at(-1)).toMatchObject({
      kind: 'error',
      text: expect.stringMatching(
        /near-duplicate threshold \(0\.90\) cannot be above the similar threshold \(0\.70\)/,
      ),
    });

    // Lowering similar below near takes near down with it.
    groups.setSimilar(0.4);
    expect(groups.near).toBe(0.4);
    await vi.advanceTimersByTimeAsync(REGROUP_DEBOUNCE_MS + 10);
    expect(transport.callsTo('app:groups:regroup').at(-1)).toEqual({
      nearDuplicate: 0.4,
      similar: 0.4,
    });
  });

  it('shows the engine refusing a threshold pair and puts the sliders back', async () => {
    const { api, transport } = fakeApi();
    const notices = new NoticeManager();
    transport.answer('app:groups:list', () => groupList(3));
    transport.answer('app:groups:regroup', () => {
      throw { code: 'BAD_ARGUMENT', message: 'request: nearDuplicate must not exceed similar' };
    });
    const groups = new GroupsManager(api, notices);
    await groups.load();
    groups.setNear(0.6);
    await vi.advanceTimersByTimeAsync(REGROUP_DEBOUNCE_MS + 10);
    expect(notices.notices.at(-1)).toMatchObject({
      kind: 'error',
      text: 'request: nearDuplicate must not exceed similar',
    });
    expect(groups.near).toBe(0.3);
    expect(groups.similar).toBe(0.7);
  });

  it('reloads when the engine says groups changed', async () => {
    const { api, transport } = fakeApi();
    let n = 2;
    transport.answer('app:groups:list', () => groupList(n));
    const groups = new GroupsManager(api, new NoticeManager());
    await groups.load();
    n = 5;
    transport.emit('app:groups:changed', { reason: 'action' });
    await vi.waitFor(() => expect(groups.list.groups).toHaveLength(5));
  });
});

describe('ReviewManager', () => {
  function setup(photos = [photo(1), photo(2), photo(3)]) {
    const { api, transport } = fakeApi();
    const notices = new NoticeManager();
    transport.answer('app:groups:get', () => group(7, photos));
    transport.answer('app:actions:apply', (p) => ({
      runId: 1,
      outcomes: photos
        .filter((x) => !(p as { keep: number[] }).keep.includes(x.id))
        .map((x) => ({ path: x.path, outcome: 'trashed' })),
      groupsChanged: true,
    }));
    transport.answer('app:actions:undo', () => ({
      runId: 2,
      outcomes: [{ path: '/lib/photo-2.jpg', outcome: 'restored' }],
      groupsChanged: true,
    }));
    transport.answer('app:labels:add', () => ({ explicit: 1, implicit: 0 }));
    return { review: new ReviewManager(api, notices), transport, notices };
  }

  it('preselects the engine keep suggestion and compares the second photo', async () => {
    const { review } = setup();
    await review.open([5, 7, 9], 7);
    expect(review.index).toBe(1);
    expect(review.keep).toEqual([1]);
    expect(review.compared?.id).toBe(2);
    expect(review.trashCount).toBe(2);
  });

  it('trashes the copies not kept, through the actions channel', async () => {
    const { review, transport } = setup();
    await review.open([7], 7);
    await review.apply('trash');
    expect(transport.callsTo('app:actions:apply')).toEqual([
      { groupId: 7, keep: [1], mode: 'trash', confirmedLoseAll: false },
    ]);
  });

  it('asks before a group would lose every copy, and sends the confirmation', async () => {
    const { review, transport } = setup();
    await review.open([7], 7);
    review.toggleKeep(1);
    expect(review.keep).toEqual([]);
    await review.apply('trash');
    expect(review.pendingConfirm).toEqual({ mode: 'trash', count: 3 });
    expect(transport.callsTo('app:actions:apply')).toHaveLength(0);
    review.cancelConfirm();
    await review.apply('trash');
    await review.apply('trash', true);
    const calls = transport.callsTo('app:actions:apply') as { confirmedLoseAll: boolean }[];
    expect(calls).toHaveLength(1);
    expect(calls[0].confirmedLoseAll).toBe(true);
  });

  it('moves the copies not kept to the chosen folder, then undoes the move', async () => {
    const { api, transport } = fakeApi();
    const notices = new NoticeManager();
    const photos = [photo(1), photo(2), photo(3)];
    transport.answer('app:groups:get', () => group(7, photos));
    transport.answer('app:actions:apply', (p) => {
      const req = p as { keep: number[]; mode: string; moveTo?: string };
      return {
        runId: 4,
        outcomes: photos
          .filter((x) => !req.keep.includes(x.id))
          .map((x) => ({ path: x.path, outcome: req.mode === 'move' ? 'moved' : 'trashed' })),
        groupsChanged: true,
      };
    });
    transport.answer('app:actions:undo', () => ({
      runId: 4,
      outcomes: [
        { path: '/lib/photo-2.jpg', outcome: 'restored' },
        { path: '/lib/photo-3.jpg', outcome: 'restored' },
      ],
      groupsChanged: true,
    }));
    const review = new ReviewManager(api, notices);
    await review.open([7], 7);
    review.moveTo = '/elsewhere/doubles';
    await review.apply('move');
    expect(transport.callsTo('app:actions:apply')).toEqual([
      {
        groupId: 7,
        keep: [1],
        mode: 'move',
        moveTo: '/elsewhere/doubles',
        confirmedLoseAll: false,
      },
    ]);
    expect(review.lastResult?.runId).toBe(4);
    expect(notices.notices.at(-1)).toMatchObject({ kind: 'info', text: '2 photos moved.' });
    await review.undo();
    expect(transport.callsTo('app:actions:undo')).toEqual([{}]);
    expect(review.lastResult).toBeNull();
    expect(notices.notices.at(-1)).toMatchObject({
      kind: 'info',
      text: 'Undone: 2 photos put back.',
    });
    // Without a folder typed in, the engine's saved move destination applies.
    review.moveTo = '';
    await review.apply('move');
    expect(transport.callsTo('app:actions:apply').at(-1)).not.toHaveProperty('moveTo');
  });

  it('undoes through the engine', async () => {
    const { review, transport } = setup();
    await review.open([7], 7);
    await review.undo();
    expect(transport.callsTo('app:actions:undo')).toHaveLength(1);
  });

  it('shares one zoom and pan between panes, clamped to its limits', async () => {
    const { review } = setup();
    await review.open([7], 7);
    review.panBy(10, 10);
    expect(review.view).toEqual({ scale: 1, x: 0, y: 0 });
    for (let i = 0; i < 20; i += 1) review.zoomBy(2);
    expect(review.view.scale).toBe(MAX_ZOOM);
    review.panBy(15, -5);
    expect(review.view.x).toBe(15);
    expect(review.view.y).toBe(-5);
    review.zoomBy(0.001);
    expect(review.view).toEqual({ scale: 1, x: 0, y: 0 });
  });

  it('sends a label once a better and a worse match are marked', async () => {
    const { review, transport } = setup();
    await review.open([7], 7);
    await review.mark(2, 'better');
    expect(transport.callsTo('app:labels:add')).toHaveLength(0);
    await review.mark(3, 'worse');
    expect(transport.callsTo('app:labels:add')).toEqual([{ query: 1, better: 2, worse: 3 }]);
    expect(review.better).toBeNull();
  });

  it('cycles the compared photo with the arrow steps', async () => {
    const { review } = setup();
    await review.open([7], 7);
    review.selectPhoto(1);
    expect(review.compared?.id).toBe(3);
    review.selectPhoto(1);
    expect(review.compared?.id).toBe(1);
  });
});

describe('ReviewManager after the groups change', () => {
  type Summary = GroupListDto['groups'][number];
  function summary(id: number, coverPath: string): Summary {
    return {
      id,
      kind: 'near-duplicate',
      label: null,
      count: 2,
      reclaimableBytes: 1,
      coverPath,
      spread: 0.1,
    };
  }

  /** A fake engine whose groups (list and details) the test replaces, as a rebuild would. */
  function engine(groups: GroupDetailDto[]) {
    const { api, transport } = fakeApi();
    const notices = new NoticeManager();
    const state = { groups };
    transport.answer('app:groups:list', () => ({
      ...groupList(0),
      groups: state.groups.map((g) => summary(g.id, g.photos[0].path)),
    }));
    transport.answer('app:groups:get', (p) => {
      const found = state.groups.find((g) => g.id === (p as { groupId: number }).groupId);
      if (!found) throw { code: 'NOT_FOUND', message: 'Not found: group' };
      return found;
    });
    const review = new ReviewManager(api, notices);
    return { review, transport, notices, state };
  }

  const covers = (groups: GroupDetailDto[]) => groups.map((g) => g.photos[0].path);

  it('reloads the open group under its new id after a retrain, and remaps the list', async () => {
    const before = [
      group(5, [photo(5), photo(6)]),
      group(7, [photo(1), photo(2), photo(3)]),
      group(9, [photo(9), photo(10)]),
    ];
    const { review, transport, state } = engine(before);
    await review.open([5, 7, 9], 7, covers(before));
    expect(review.group?.photos.map((p) => p.id)).toEqual([1, 2, 3]);
    // The rebuild renumbers: 7 is now someone else; photo 2 left the open group; 5 is gone.
    state.groups = [
      group(1, [photo(9), photo(10)]),
      group(2, [photo(1), photo(3, { keep: true })]),
      group(7, [photo(20), photo(21)]),
    ];
    transport.emit('app:groups:changed', { reason: 'retrain' });
    await vi.waitFor(() => expect(review.group?.id).toBe(2));
    expect(review.group?.photos.map((p) => p.id)).toEqual([1, 3]);
    expect(review.keep).toEqual([1, 3]);
    expect(review.groupIds).toEqual([2, 1]);
    expect(review.index).toBe(0);
    await review.step(1);
    expect(review.group?.photos.map((p) => p.id)).toEqual([9, 10]);
  });

  it('keeps the choices made when the regrouped group holds the same photos', async () => {
    const before = [group(7, [photo(1), photo(2), photo(3)])];
    const { review, transport, state } = engine(before);
    await review.open([7], 7, covers(before));
    review.toggleKeep(2);
    review.selectPhoto(1);
    state.groups = [group(3, [photo(1), photo(2), photo(3)])];
    transport.emit('app:groups:changed', { reason: 'revert' });
    await vi.waitFor(() => expect(review.group?.id).toBe(3));
    expect(review.keep).toEqual([1, 2]);
    expect(review.compared?.id).toBe(3);
  });

  it('moves on to the next group, with a notice, when the open one is gone after a trash', async () => {
    const before = [group(7, [photo(1), photo(2)]), group(9, [photo(9), photo(10)])];
    const { review, transport, notices, state } = engine(before);
    transport.answer('app:actions:apply', () => ({
      runId: 1,
      outcomes: [{ path: '/lib/photo-2.jpg', outcome: 'trashed' }],
      groupsChanged: true,
    }));
    await review.open([7, 9], 7, covers(before));
    await review.apply('trash');
    state.groups = [group(4, [photo(9), photo(10)])];
    transport.emit('app:groups:changed', { reason: 'action' });
    await vi.waitFor(() => expect(review.group?.id).toBe(4));
    expect(review.groupIds).toEqual([4]);
    expect(notices.notices.at(-1)?.text).toMatch(/no longer exists; showing the next one/);
  });

  it('closes the review with a notice when no group of its list is left', async () => {
    const before = [group(7, [photo(1), photo(2)])];
    const { review, transport, notices, state } = engine(before);
    await review.open([7], 7, covers(before));
    state.groups = [group(7, [photo(30), photo(31)])];
    transport.emit('app:groups:changed', { reason: 'undo' });
    await vi.waitFor(() => expect(review.group).toBeNull());
    expect(review.groupIds).toEqual([]);
    expect(notices.notices.at(-1)?.text).toMatch(/no longer exists; review closed/);
  });
});

describe('LibraryManager', () => {
  it('follows scan job events and reloads problems when a scan is done', async () => {
    const { api, transport } = fakeApi();
    let problems = 0;
    transport.answer('app:problems:list', () => ({
      problems: Array.from({ length: problems }, (_, i) => ({
        path: `/lib/bad-${i}`,
        code: 'TRUNCATED',
        reason: 'cut short',
      })),
    }));
    const library = new LibraryManager(api, new NoticeManager());
    const job = {
      id: 'j',
      kind: 'scan' as const,
      state: 'running' as const,
      phase: 'reading',
      done: 5,
      total: 10,
      rate: 2,
      etaSeconds: 2.5,
      startedAt: '',
    };
    transport.emit('app:job:updated', job);
    expect(library.isScanning).toBe(true);
    problems = 2;
    transport.emit('app:job:updated', { ...job, state: 'done' });
    expect(library.isScanning).toBe(false);
    await vi.waitFor(() => expect(library.problems).toHaveLength(2));
  });

  it('shows the catalog message when a folder cannot be added', async () => {
    const { api, transport } = fakeApi();
    transport.answer('app:library:add-folder', () => {
      throw { code: 'FOLDER_NOT_FOUND', message: 'Folder not found: /nope' };
    });
    const notices = new NoticeManager();
    const library = new LibraryManager(api, notices);
    expect(await library.addFolder('/nope')).toBe(false);
    expect(notices.notices[0]).toMatchObject({ kind: 'error', text: 'Folder not found: /nope' });
  });
});

describe('SettingsManager', () => {
  it('moves a keep criterion up or down one place, and not past either end', async () => {
    const { api, transport } = fakeApi();
    let keepOrder = ['resolution', 'size', 'format', 'exif', 'sharpness', 'date'];
    transport.answer('app:settings:get', () => ({ keepOrder }));
    transport.answer('app:settings:set', (p) => {
      keepOrder = (p as { keepOrder: string[] }).keepOrder;
      return { keepOrder };
    });
    const settings = new SettingsManager(api, new NoticeManager());
    await settings.load();
    await settings.moveCriterion(3, -1);
    expect(settings.settings?.keepOrder).toEqual([
      'resolution',
      'size',
      'exif',
      'format',
      'sharpness',
      'date',
    ]);
    await settings.moveCriterion(0, 1);
    expect(settings.settings?.keepOrder.slice(0, 2)).toEqual(['size', 'resolution']);
    await settings.moveCriterion(0, -1);
    await settings.moveCriterion(5, 1);
    expect(transport.callsTo('app:settings:set')).toHaveLength(2);
    expect(settings.settings?.keepOrder).toEqual([
      'size',
      'resolution',
      'exif',
      'format',
      'sharpness',
      'date',
    ]);
  });
});

describe('Api', () => {
  it('turns an error envelope into ApiError with its code', async () => {
    const { api } = fakeApi();
    await expect(api.call('app:library:get', {})).rejects.toBeInstanceOf(ApiError);
    await expect(api.call('app:library:get', {})).rejects.toMatchObject({
      code: 'UNKNOWN_CHANNEL',
    });
  });
});
