/**
 * The desktop shell end to end through Playwright's Electron support: the window is locked down
 * (no Node in the page, only the contract on `window.doppel`), bad IPC payloads and unknown
 * channels are refused, navigation and new windows are denied; then the same user flows as
 * ui-browser.test.ts on a generated library: add the folder, scan with progress, see the groups by
 * kind, open one and compare, trash a copy and undo, label a better and a worse match, retrain.
 * Screenshots go to test-results/ui-electron/. Runs the built shell (dist/src-main/app, preload,
 * renderer). Needs an Electron binary; where none is installed (CI here), it skips and says why.
 *
 * The native folder picker cannot be driven, so the test answers it from the main process (it
 * replaces `dialog.showOpenDialog` there, as a user choosing the folder would) and clicks the real
 * "Add folder…" button: the page, the preload, IPC and `app:library:pick-folder` all run as shipped.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { _electron as electron, type ElectronApplication, type Page } from '@playwright/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  Channel,
  Envelope,
  JobDto,
  RequestInputOf,
  ResponseOf,
} from '../../src-main/contract/ipc';
import { REPO_ROOT } from '../helpers/shared-data';
import { writeReviewLibrary, type GeneratedLibrary } from '../helpers/photo-library';
import { RENDERER_INDEX, TINY_MODEL } from '../helpers/serve-process';

const MAIN = path.join(REPO_ROOT, 'dist', 'src-main', 'app', 'main.js');
const PRELOAD = path.join(REPO_ROOT, 'dist', 'preload', 'preload.js');
const SHOTS = path.join(REPO_ROOT, 'test-results', 'ui-electron');

function electronBinary(): string | null {
  try {
    // The electron package's index returns the binary path, and throws when it was never downloaded.
    const binary = createRequire(path.join(REPO_ROOT, 'package.json'))('electron') as unknown;
    return typeof binary === 'string' && fs.existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

const binary = electronBinary();
const reason = !binary
  ? 'no Electron binary is installed (its download script is disabled by allowScripts); run `node node_modules/electron/install.js` with internet access to enable these tests'
  : !fs.existsSync(MAIN) || !fs.existsSync(PRELOAD)
    ? 'the desktop shell is not built; run npm run build:app'
    : !fs.existsSync(RENDERER_INDEX)
      ? 'the renderer is not built; run npm run build:renderer'
      : null;
if (reason) console.warn(`ui-electron: skipped: ${reason}.`);

(reason ? describe.skip : describe)('the Electron shell', () => {
  let tmp: string;
  let lib: GeneratedLibrary;
  let app: ElectronApplication;
  let page: Page;
  const timings: Record<string, number> = {};

  async function shot(name: string): Promise<void> {
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  }

  async function step<T>(name: string, work: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    const value = await work();
    timings[name] = Date.now() - t0;
    return value;
  }

  /** Calls a contract channel the way the page does, through the preload bridge. */
  async function call<C extends Channel>(
    channel: C,
    payload: RequestInputOf<C>,
  ): Promise<Envelope<ResponseOf<C>>> {
    const reply = await page.evaluate(
      ({ c, p }) =>
        (
          globalThis as unknown as {
            doppel: { api: Record<string, (p: unknown) => Promise<unknown>> };
          }
        ).doppel.api[c](p),
      { c: channel as string, p: payload as unknown },
    );
    return reply as Envelope<ResponseOf<C>>;
  }

  /** The value of a call that must succeed. */
  async function value<C extends Channel>(
    channel: C,
    payload: RequestInputOf<C>,
  ): Promise<ResponseOf<C>> {
    const reply = await call(channel, payload);
    if (!reply.ok) throw new Error(`${channel} failed: ${reply.error.code} ${reply.error.message}`);
    return reply.value;
  }

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'doppel-electron-'));
    fs.mkdirSync(SHOTS, { recursive: true });
    lib = await writeReviewLibrary(path.join(tmp, 'library'));
    app = await electron.launch({
      executablePath: binary!,
      args: [MAIN, '--no-sandbox', `--user-data-dir=${path.join(tmp, 'user-data')}`],
      env: {
        ...process.env,
        DOPPEL_HOME: path.join(tmp, 'app-data'),
        DOPPEL_MODEL_DIR: TINY_MODEL,
        XDG_DATA_HOME: path.join(tmp, 'xdg-data'),
      },
    });
    page = await app.firstWindow();
    page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
    await page.waitForLoadState('domcontentloaded');
    // The same size as the browser test's viewport, so the screenshots compare.
    await app.evaluate(({ BrowserWindow }) =>
      BrowserWindow.getAllWindows()[0].setContentSize(1280, 900),
    );
  });

  afterAll(async () => {
    await app?.close();
    if (Object.keys(timings).length) {
      fs.mkdirSync(SHOTS, { recursive: true });
      fs.writeFileSync(path.join(SHOTS, 'timings.json'), JSON.stringify(timings, null, 2));
      console.log('ui-electron: flow step timings (ms)', timings);
    }
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('gives the page no Node and only the contract bridge', async () => {
    const globals = await page.evaluate(() => {
      const w = globalThis as unknown as Record<string, unknown> & {
        doppel: { api: Record<string, unknown> };
      };
      return {
        require: typeof w.require,
        process: typeof w.process,
        channels: Object.keys(w.doppel.api),
      };
    });
    expect(globals.require).toBe('undefined');
    expect(globals.process).toBe('undefined');
    expect(globals.channels).toContain('app:library:get');
    expect(globals.channels.every((c) => c.startsWith('app:'))).toBe(true);
  });

  it('sets the security web preferences explicitly', async () => {
    const prefs = await app.evaluate(({ BrowserWindow }) => {
      const wc = BrowserWindow.getAllWindows()[0].webContents;
      return (
        wc as unknown as { getLastWebPreferences(): Record<string, unknown> }
      ).getLastWebPreferences();
    });
    expect(prefs).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false });
  });

  it('refuses a bad payload with an INVALID_REQUEST envelope', async () => {
    const reply = await page.evaluate(async () => {
      const w = globalThis as unknown as {
        doppel: { api: Record<string, (p: unknown) => Promise<unknown>> };
      };
      return w.doppel.api['app:groups:get']({ groupId: 'DROP TABLE' });
    });
    expect(reply).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
  });

  it('denies navigation away and new windows', async () => {
    await page.evaluate(() => {
      (globalThis as unknown as { open: (u: string) => void }).open('https://example.invalid/');
      (globalThis as unknown as { location: { href: string } }).location.href =
        'https://example.invalid/';
    });
    await page.waitForTimeout(500);
    expect(app.windows()).toHaveLength(1);
    expect(page.url()).toMatch(/^doppel-app:\/\/app\//);
  });

  it('refuses media outside the library through the custom protocol', async () => {
    const status = await page.evaluate(async () => {
      const img = new (
        globalThis as unknown as {
          Image: new () => { src: string; onload: () => void; onerror: () => void };
        }
      ).Image();
      return new Promise<string>((resolve) => {
        img.onload = () => resolve('loaded');
        img.onerror = () => resolve('refused');
        img.src = `doppel-media://media/?path=${encodeURIComponent('/etc/hostname')}`;
      });
    });
    expect(status).toBe('refused');
  });

  // ---- The user flows of ui-browser.test.ts, in the desktop shell -------------------------------

  it('adds the library folder through the folder picker and scans it, with progress and problems', async () => {
    // The desktop page has no path field: "Add folder…" opens the native picker.
    await expect(page.getByLabel('Folder path').count()).resolves.toBe(0);
    await app.evaluate(({ dialog }, folder) => {
      const g = globalThis as unknown as { doppelPickerCalls: number };
      g.doppelPickerCalls = 0;
      // Answer the picker as a user choosing `folder` would; the rest of the path runs as shipped.
      (dialog as unknown as { showOpenDialog: () => Promise<unknown> }).showOpenDialog =
        async () => {
          g.doppelPickerCalls += 1;
          return { canceled: false, filePaths: [folder] };
        };
    }, lib.root);
    await step('add-folder', async () => {
      await page.getByRole('button', { name: 'Add folder…' }).click();
      await page.getByRole('button', { name: `Remove ${lib.root}` }).waitFor();
    });
    await expect(
      app.evaluate(
        () => (globalThis as unknown as { doppelPickerCalls: number }).doppelPickerCalls,
      ),
    ).resolves.toBe(1);
    await expect(value('app:library:get', {})).resolves.toMatchObject({ folders: [lib.root] });

    // Record every job update the page receives, and how long main's event loop ever stalls: it
    // only routes messages, the engine runs in its own process.
    await page.evaluate(() => {
      const w = globalThis as unknown as {
        doppel: { on: (name: string, listener: (payload: unknown) => void) => () => void };
        doppelJobUpdates: unknown[];
      };
      w.doppelJobUpdates = [];
      w.doppel.on('app:job:updated', (job) => w.doppelJobUpdates.push(job));
    });
    await app.evaluate(() => {
      const g = globalThis as unknown as {
        doppelLag: { maxMs: number; timer?: ReturnType<typeof setInterval> };
      };
      const lag: { maxMs: number; timer?: ReturnType<typeof setInterval> } = { maxMs: 0 };
      let last = Date.now();
      lag.timer = setInterval(() => {
        const now = Date.now();
        lag.maxMs = Math.max(lag.maxMs, now - last - 10);
        last = now;
      }, 10);
      g.doppelLag = lag;
    });

    await step('scan', async () => {
      await page.getByRole('button', { name: 'Scan now' }).click();
      await page
        .getByTestId('scan-status')
        .filter({ hasText: /^\s*Done:/ })
        .waitFor({ timeout: 120_000 });
    });
    const mainLagMs = await app.evaluate(() => {
      const g = globalThis as unknown as {
        doppelLag: { maxMs: number; timer?: ReturnType<typeof setInterval> };
      };
      clearInterval(g.doppelLag.timer);
      return g.doppelLag.maxMs;
    });
    console.log(`ui-electron: main's event-loop max delay during the scan: ${mainLagMs} ms`);
    expect(mainLagMs).toBeLessThan(100);

    const updates = (await page.evaluate(
      () => (globalThis as unknown as { doppelJobUpdates: unknown[] }).doppelJobUpdates,
    )) as JobDto[];
    const scan = updates.filter((j) => j.kind === 'scan');
    expect(new Set(scan.map((j) => j.id)).size).toBe(1);
    // Progress reached the page while the scan ran, then the scan finished with a summary.
    expect(scan.some((j) => j.state === 'running' && j.phase !== 'starting' && j.total > 0)).toBe(
      true,
    );
    expect(scan.at(-1)).toMatchObject({ state: 'done', summary: expect.anything() });
    await expect(
      page.getByRole('progressbar', { name: 'Scan progress' }).getAttribute('value'),
    ).resolves.toBe('100');

    const problems = page.getByRole('list', { name: 'Problems' });
    await problems.getByText(lib.unreadable[0]).waitFor();
    await expect(problems.locator('li').count()).resolves.toBe(2);
    await shot('1-library-scanned');
  });

  it('shows the groups by kind with counts and reclaimable space', async () => {
    await page.getByRole('button', { name: 'Groups' }).click();
    await page.getByTestId('group-list').locator('button.group').first().waitFor();
    const exact = await page.getByRole('button', { name: /^Exact/ }).textContent();
    expect(Number(exact?.match(/\d+/)?.[0])).toBeGreaterThanOrEqual(1);
    await expect(page.getByTestId('reclaimable').textContent()).resolves.toMatch(/reclaimed: \d/);
    await shot('2-groups');

    // The similarity slider regroups live through the engine process.
    const similarCount = async (): Promise<number> =>
      Number(
        (await page.getByRole('button', { name: /^Similar/ }).textContent())?.match(/\d+/)?.[0],
      );
    expect(await similarCount()).toBe(1);
    await step('regroup', async () => {
      await page.getByLabel('Similarity threshold').fill('0.3');
      await expect.poll(similarCount).toBe(0);
    });
    const regrouped = await value('app:groups:list', {});
    expect(regrouped.thresholds.similar).toBeCloseTo(0.3);
    await page.getByLabel('Similarity threshold').fill('0.8');
    await expect.poll(similarCount).toBe(1);
  });

  it('opens an exact group, compares side by side, trashes the copy and undoes it', async () => {
    await page.getByRole('button', { name: /^Exact/ }).click();
    await step('open-group', () => page.locator('button.group[data-kind="exact"]').first().click());
    await page.getByRole('figure', { name: 'Reference' }).waitFor();
    await page.getByRole('figure', { name: 'Compared' }).waitFor();
    const cards = page.getByTestId('photo-card');
    await expect(cards.count()).resolves.toBe(2);
    // Both panes show pixels served by the doppel-media scheme from inside the library.
    await expect
      .poll(() =>
        page
          .locator('.stage img')
          .evaluateAll((imgs) =>
            imgs.every((img) => (img as unknown as { naturalWidth: number }).naturalWidth > 0),
          ),
      )
      .toBe(true);
    // Synchronised zoom: one wheel turn over the left pane zooms both.
    await page.getByRole('figure', { name: 'Reference' }).locator('.stage').hover();
    await page.mouse.wheel(0, -200);
    const transforms = await Promise.all(
      (await page.locator('.stage img').all()).map((img) => img.getAttribute('style')),
    );
    expect(transforms[0]).toContain('scale(1.25)');
    expect(transforms[1]).toBe(transforms[0]);
    await shot('3-review-compare');

    const kept = await cards.filter({ hasText: 'Keep' }).count();
    expect(kept).toBe(1);
    const before = [lib.original, lib.exactCopy].filter((f) => fs.existsSync(f));
    expect(before).toHaveLength(2);
    await step('trash', async () => {
      await page.keyboard.press('t');
      await page.getByText('1 photo sent to the trash.').waitFor();
    });
    const remaining = [lib.original, lib.exactCopy].filter((f) => fs.existsSync(f));
    expect(remaining).toHaveLength(1);
    const trashed = [lib.original, lib.exactCopy].find((f) => !fs.existsSync(f))!;
    const trashFiles = path.join(tmp, 'xdg-data', 'Trash', 'files');
    expect(fs.readdirSync(trashFiles)).toContain(path.basename(trashed));
    await shot('4-after-trash');

    await step('undo', async () => {
      await page.keyboard.press('u');
      await page.getByText('Undone: 1 photo put back.').waitFor();
    });
    expect(fs.existsSync(trashed)).toBe(true);
    expect(fs.readdirSync(trashFiles)).not.toContain(path.basename(trashed));
  });

  it('asks before removing every copy of a group', async () => {
    await page.getByRole('button', { name: 'Groups' }).click();
    await page.locator('button.group[data-kind="exact"]').first().click();
    await expect.poll(() => page.getByTestId('photo-card').count()).toBe(2);
    const keepBoxes = page.getByTestId('photo-card').getByRole('checkbox');
    for (const box of await keepBoxes.all()) if (await box.isChecked()) await box.uncheck();
    await page.getByRole('button', { name: 'Trash 2 not kept' }).click();
    await page.getByRole('alertdialog').waitFor();
    await shot('5-confirm-lose-all');
    await page.getByRole('button', { name: 'Keep them' }).click();
    expect(fs.existsSync(lib.original) && fs.existsSync(lib.exactCopy)).toBe(true);
  });

  it('labels a better and a worse match in a group of distinct photos', async () => {
    const list = await value('app:groups:list', {});
    const distinct = list.groups.find((g) => g.kind !== 'exact' && g.count >= 3);
    expect(distinct, 'a near-duplicate group of 3+ photos').toBeTruthy();
    await page.getByRole('button', { name: 'Groups' }).click();
    await page.getByRole('button', { name: /^All/ }).click();
    await page.locator(`button.group[data-kind="${distinct!.kind}"]`).first().click();
    await page.getByText(`${distinct!.kind}, ${distinct!.count} photos`).waitFor();
    const cards = page.getByTestId('photo-card');
    await expect.poll(() => cards.count()).toBe(distinct!.count);
    // The exact copy shares the reference's bytes and cannot be a partner: pick other photos.
    const candidates: number[] = [];
    for (let i = 1; i < (await cards.count()); i += 1) {
      if (!/identical file/.test((await cards.nth(i).textContent()) ?? '')) candidates.push(i);
    }
    expect(candidates.length).toBeGreaterThanOrEqual(2);
    await cards.nth(candidates[0]).getByRole('button', { name: 'Better match' }).click();
    await cards.nth(candidates[1]).getByRole('button', { name: 'Worse match' }).click();
    await page.getByText(/Label saved \(1 in all\)/).waitFor();
    await expect(value('app:labels:count', {})).resolves.toMatchObject({ explicit: 1 });
    await page.getByRole('button', { name: 'Settings' }).click();
    await expect
      .poll(() => page.getByTestId('label-count').textContent())
      .toMatch(/^\s*1 labels from you/);
    await expect(page.getByTestId('provider-in-use').textContent()).resolves.toMatch(/In use: cpu/);
    await shot('6-settings-learning');
  });

  it('retrains from labels, shows the before/after figure and lists head versions', async () => {
    const list = await value('app:groups:list', {});
    const similar = list.groups.find((g) => g.kind === 'similar')!;
    expect(similar, 'a similar group').toBeTruthy();
    const detail = await value('app:groups:get', { groupId: similar.id });
    // Distinct contents only (one photo per distance), ranked by the model's own distances.
    const seen = new Set<number>();
    const photos = detail.photos.filter((p) => !seen.has(p.distance) && seen.add(p.distance));
    expect(photos.length).toBeGreaterThanOrEqual(4);
    // A user who disagrees with the model: for the reference photo, the farther of two photos is
    // the better match. Consistent labels the shipped head ranks wrong, so a retrain can win.
    photos.sort((a, b) => a.distance - b.distance);
    let added = 0;
    for (let near = 1; near < photos.length; near += 1) {
      for (let far = near + 1; far < photos.length; far += 1) {
        const r = await call('app:labels:add', {
          query: photos[0].id,
          better: photos[far].id,
          worse: photos[near].id,
        });
        if (r.ok) added += 1;
      }
    }
    expect(added).toBeGreaterThanOrEqual(6);
    await page.getByRole('button', { name: 'Library' }).click();
    await step('retrain', async () => {
      await page.getByRole('button', { name: 'Settings' }).click();
      await page.getByRole('button', { name: 'Retrain' }).click();
      await page
        .getByRole('figure', { name: 'Held-out accuracy before and after' })
        .waitFor({ timeout: 120_000 });
    });
    const caption = await page
      .getByRole('figure', { name: 'Held-out accuracy before and after' })
      .textContent();
    expect(caption).toMatch(/Before[\s\S]*After[\s\S]*(Adopted as version \d+|Not adopted: .+)/);
    await shot('7-retrained');
    if (/Adopted/.test(caption ?? '')) {
      await page
        .getByRole('listitem')
        .filter({ hasText: 'v1' })
        .getByRole('button', { name: 'Revert to this' })
        .click();
      await page.getByText('v1 (in use)').waitFor();
      const heads = await value('app:learn:heads', {});
      expect(heads.find((h) => h.active)).toMatchObject({ version: 1 });
    }
  });
});
