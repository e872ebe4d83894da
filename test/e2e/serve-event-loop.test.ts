/**
 * `doppel serve` keeps its serving thread free during a scan: a few hundred generated photos are
 * scanned through the HTTP contract while the test keeps calling the API; the server's own
 * event-loop delay histogram (perf_hooks) must stay under 100 ms, and calls keep being answered.
 * Also pauses and resumes the scan, and checks progress arrives as server-sent events.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeJpeg } from '../helpers/photo-library';
import {
  callApi,
  serveUnavailableReason,
  startServe,
  type ServeHandle,
} from '../helpers/serve-process';

const PHOTOS = Number(process.env.DOPPEL_E2E_LOOP_PHOTOS ?? 300);
const unavailable = serveUnavailableReason();
if (unavailable) console.warn(`serve-event-loop: skipped: ${unavailable}.`);

interface Job {
  id: string;
  state: string;
  phase: string;
  done: number;
  total: number;
  rate: number;
  etaSeconds: number | null;
}

(unavailable ? describe.skip : describe)('doppel serve during a scan', () => {
  let tmp: string;
  let serve: ServeHandle;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'doppel-loop-'));
    const lib = path.join(tmp, 'library');
    for (let i = 0; i < PHOTOS; i += 1) {
      await writeJpeg(path.join(lib, `set-${i % 10}`, `photo-${i}.jpg`), i, 85, 256, 192);
    }
    serve = await startServe(tmp, path.join(tmp, 'cache.sqlite'));
    expect((await callApi(serve, 'app:library:add-folder', { path: lib })).ok).toBe(true);
  });

  afterAll(async () => {
    await serve?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('answers calls and streams progress while scanning, and never blocks 100 ms', async () => {
    const events: Job[] = [];
    const controller = new AbortController();
    const stream = fetch(`${serve.origin}/api/events`, {
      headers: { 'x-doppel-token': serve.token },
      signal: controller.signal,
    })
      .then(async (r) => {
        const reader = r.body!.getReader();
        let text = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          text += Buffer.from(value).toString();
          for (const m of text.matchAll(/event: app:job:updated\ndata: (.*)\n\n/g))
            events.push(JSON.parse(m[1]));
          text = text.slice(text.lastIndexOf('\n\n') + 2);
        }
      })
      // The stream is aborted on purpose once the scan ends.
      .catch(() => undefined);

    const started = await callApi<Job>(serve, 'app:scan:start');
    expect(started.ok).toBe(true);
    const jobId = started.value.id;
    const latencies: number[] = [];
    let paused = false;
    let state = 'running';
    const t0 = Date.now();
    while (state === 'running' || state === 'paused') {
      const t = performance.now();
      const jobs = await callApi<Job[]>(serve, 'app:jobs:list');
      latencies.push(performance.now() - t);
      const job = jobs.value.find((j) => j.id === jobId)!;
      state = job.state;
      if (!paused && job.phase === 'reading' && job.done > 20) {
        paused = true;
        expect((await callApi<Job>(serve, 'app:scan:pause', { jobId })).value.state).toBe('paused');
        const doneAtPause = (await callApi<Job[]>(serve, 'app:jobs:list')).value[0].done;
        await new Promise((r) => setTimeout(r, 600));
        const doneLater = (await callApi<Job[]>(serve, 'app:jobs:list')).value[0].done;
        expect(doneLater - doneAtPause).toBeLessThanOrEqual(3);
        expect((await callApi<Job>(serve, 'app:scan:resume', { jobId })).value.state).toBe(
          'running',
        );
      }
      expect(Date.now() - t0).toBeLessThan(240_000);
      await new Promise((r) => setTimeout(r, 50));
    }
    controller.abort();
    await stream;
    expect(state).toBe('done');

    const r = await fetch(`${serve.origin}/api/diagnostics`, {
      headers: { 'x-doppel-token': serve.token },
    });
    const { eventLoop } = (await r.json()) as { eventLoop: { maxMs: number; p99Ms: number } };
    const slowest = Math.max(...latencies);
    console.log(
      `serve-event-loop: ${PHOTOS} photos in ${((Date.now() - t0) / 1000).toFixed(1)} s; ` +
        `event-loop max ${eventLoop.maxMs} ms, p99 ${eventLoop.p99Ms} ms; ` +
        `${latencies.length} API calls during the scan, slowest ${slowest.toFixed(0)} ms`,
    );
    expect(eventLoop.maxMs).toBeLessThan(100);
    const progress = events.filter((e) => e.id === jobId && e.state === 'running' && e.total > 0);
    expect(progress.length).toBeGreaterThan(2);
    expect(progress.some((e) => e.rate > 0 && e.etaSeconds !== null)).toBe(true);
    expect(events.some((e) => e.id === jobId && e.state === 'paused')).toBe(true);
    expect(serve.stderr()).toMatch(/event-loop delay on the serving thread: max [\d.]+ ms/);
  });
});
