/**
 * The group list stays smooth with 10,000 groups: a database seeded with 10,000 groups (20,000
 * photo rows, no files), served by `doppel serve` and scrolled in Chromium while frame times are
 * recorded. Prints the list call's time and the frame figures; screenshots go to test-results/.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from '@playwright/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src-main/engine/db/database';
import { PhotoRepository, type StoredGroup } from '../../src-main/engine/db/photo.repository';
import { REPO_ROOT } from '../helpers/shared-data';
import {
  callApi,
  serveUnavailableReason,
  startServe,
  type ServeHandle,
} from '../helpers/serve-process';

const CHROMIUM = process.env.DOPPEL_CHROMIUM ?? '/usr/bin/chromium';
const GROUPS = 10_000;
const SHOTS = path.join(REPO_ROOT, 'test-results', 'ui-10k-groups');
const unavailable =
  serveUnavailableReason() ?? (fs.existsSync(CHROMIUM) ? null : `no Chromium at ${CHROMIUM}`);
if (unavailable) console.warn(`ui-10k-groups: skipped: ${unavailable}.`);

/** Seeds `file` with GROUPS groups of two photo rows each, of all three kinds. */
function seed(file: string): void {
  const db = openDatabase(file);
  const repo = new PhotoRepository(db);
  const groups: StoredGroup[] = [];
  repo.transaction(() => {
    for (let g = 0; g < GROUPS; g += 1) {
      const ids = [0, 1].map((k) => {
        const p = `/library/album-${g % 97}/photo-${g}-${k}.jpg`;
        const id = repo.upsertPending(
          undefined,
          { path: p, pathBytes: Buffer.from(p), size: 2_000_000 + k, mtimeMs: 1 },
          1,
        );
        const hash = crypto.createHash('sha256').update(`${g}/${k}`).digest('hex');
        repo.setOk(id, hash, {
          format: 'jpeg',
          width: 4000 - k * 1000,
          height: 3000,
          takenAt: null,
          camera: null,
          orientation: null,
          burstId: null,
          contentId: null,
          exifFields: 10,
        });
        return id;
      });
      const kind = (['exact', 'near-duplicate', 'similar'] as const)[g % 3];
      groups.push({
        kind,
        label: null,
        members: ids.map((photoId, i) => ({ photoId, distance: i * 0.1 })),
      });
    }
  });
  repo.replaceGroups(groups);
  db.close();
}

(unavailable ? describe.skip : describe)('10,000 groups in the browser', () => {
  let tmp: string;
  let serve: ServeHandle;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'doppel-10k-'));
    fs.mkdirSync(SHOTS, { recursive: true });
    const db = path.join(tmp, 'cache.sqlite');
    seed(db);
    serve = await startServe(tmp, db);
    context = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--disable-sync',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
      viewport: { width: 1280, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
  });

  afterAll(async () => {
    await context?.close();
    await serve?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('lists, draws and scrolls 10,000 groups smoothly', async () => {
    const t0 = performance.now();
    const list = await callApi<{ groups: unknown[] }>(serve, 'app:groups:list', {});
    const listMs = performance.now() - t0;
    expect(list.value.groups).toHaveLength(GROUPS);
    const t2 = performance.now();
    const detail = await callApi<{ photos: unknown[] }>(serve, 'app:groups:get', {
      groupId: GROUPS - 1,
    });
    const openMs = performance.now() - t2;
    expect(detail.value.photos).toHaveLength(2);
    // The list is read once per change; opening a group must not read all 10,000 again.
    expect(openMs).toBeLessThan(listMs / 2);

    await page.goto(serve.url);
    const t1 = performance.now();
    await page.getByRole('button', { name: 'Groups' }).click();
    await page.getByRole('button', { name: `All ${GROUPS}` }).waitFor();
    await page.locator('button.group').first().waitFor();
    const drawMs = performance.now() - t1;

    // Frame intervals with nothing happening: what this (shared, loaded) machine gives at best.
    const idle = (await page.evaluate(`new Promise((resolve) => {
      const times = [];
      let last = performance.now();
      const tick = (now) => {
        times.push(now - last);
        last = now;
        if (times.length < 60) requestAnimationFrame(tick); else resolve(times.slice(1));
      };
      requestAnimationFrame(tick);
    })`)) as number[];
    const idleP95 = [...idle].sort((a, b) => a - b)[Math.floor(idle.length * 0.95)];

    // Scroll the list 300 px a frame for 150 frames and record every frame interval.
    const frames = (await page.evaluate(`new Promise((resolve) => {
      const viewport = document.querySelector('[data-testid="group-list"] .viewport');
      const times = [];
      let last = performance.now();
      let n = 0;
      const tick = (now) => {
        times.push(now - last);
        last = now;
        viewport.scrollTop += 300;
        if (++n < 150) requestAnimationFrame(tick); else resolve(times.slice(1));
      };
      requestAnimationFrame(tick);
    })`)) as number[];
    const sorted = [...frames].sort((a, b) => a - b);
    const p95 = sorted[Math.floor(sorted.length * 0.95)];
    const rows = await page.locator('button.group').count();
    await page.screenshot({ path: path.join(SHOTS, 'scrolled.png') });
    console.log(
      `ui-10k-groups: list call ${listMs.toFixed(0)} ms, open one group ${openMs.toFixed(0)} ms, first draw ${drawMs.toFixed(0)} ms, ` +
        `${rows} rows in the DOM, frame p95 ${p95.toFixed(1)} ms (idle page ${idleP95.toFixed(1)} ms), ` +
        `max ${sorted.at(-1)!.toFixed(1)} ms`,
    );
    expect(rows).toBeLessThan(60);
    expect(await page.locator('button.group').last().textContent()).toMatch(/photo-\d+-0\.jpg/);
    // Headless Chromium without a GPU on a shared 2-core machine: frames are judged against what
    // the idle page gets here, with 100 ms as the outer bound; a list drawn in full (10,000 rows)
    // takes seconds per frame.
    expect(p95).toBeLessThan(Math.max(100, idleP95 * 3));
  });
});
