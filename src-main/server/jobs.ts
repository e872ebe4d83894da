/**
 * Long-running work as jobs: a scan runs in its own worker thread (so the engine host keeps
 * answering queries while it runs), reports progress with rate and ETA, and can be paused,
 * resumed and cancelled. Retraining runs as an inline job of the host.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { AppError } from '../contract/errors';
import type { EventMap, EventName, JobDto, JobKind } from '../contract/ipc';
import type { Provider, ScanSummary } from '../contract/types';
import { createLogger } from '../engine/log/logger';
import { SCAN_CONTROL, type ScanWorkerData, type ScanWorkerMessage } from './scan.worker-types';

const log = createLogger('jobs');

/** Finished jobs kept for the UI to read back. */
const KEEP_FINISHED = 20;

export interface JobManagerOptions {
  dbFile: string;
  modelDir: string;
  emit: <E extends EventName>(name: E, payload: EventMap[E]) => void;
  onScanDone: (summary: ScanSummary) => void;
}

interface RunningScan {
  worker: Worker;
  control: Int32Array;
  exited: Promise<void>;
}

/** Reports progress of an inline job: phase, items done, items in all. */
export type ReportProgress = (phase: string, done: number, total: number) => void;

export class JobManager {
  private readonly jobs = new Map<string, JobDto>();
  private readonly scans = new Map<string, RunningScan>();
  private readonly phaseStarted = new Map<string, { phase: string; at: number }>();

  constructor(private readonly options: JobManagerOptions) {}

  list(): JobDto[] {
    return [...this.jobs.values()];
  }

  /** Starts a scan of `folders` in a worker thread; refuses while another scan runs. */
  startScan(folders: string[], exclude: string[], provider: Provider): JobDto {
    this.refuseIfRunning('scan');
    const job = this.createJob('scan');
    const control = new Int32Array(new SharedArrayBuffer(4));
    const workerData: ScanWorkerData = {
      dbFile: this.options.dbFile,
      modelDir: this.options.modelDir,
      roots: folders,
      exclude,
      provider,
      control,
    };
    const worker = new Worker(path.join(__dirname, 'scan.worker.js'), { workerData });
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    this.scans.set(job.id, { worker, control, exited });
    worker.on('message', (message: ScanWorkerMessage) => this.onScanMessage(job.id, message));
    worker.on('error', (err) =>
      this.finish(job.id, 'failed', { error: { code: 'INTERNAL', message: err.message } }),
    );
    worker.once('exit', (code) => {
      this.scans.delete(job.id);
      const current = this.jobs.get(job.id);
      if (current && (current.state === 'running' || current.state === 'paused')) {
        this.finish(job.id, 'failed', {
          error: {
            code: 'ENGINE_FAILED',
            message: `The scan stopped unexpectedly (exit code ${code}).`,
          },
        });
      }
    });
    return job;
  }

  /** Pauses a running scan: its thread waits at the next file, keeping everything done so far. */
  pause(jobId: string): JobDto {
    const { job, scan } = this.runningScan(jobId);
    Atomics.store(scan.control, 0, SCAN_CONTROL.paused);
    return this.update(job.id, { state: 'paused' });
  }

  resume(jobId: string): JobDto {
    const { job, scan } = this.runningScan(jobId);
    Atomics.store(scan.control, 0, SCAN_CONTROL.running);
    Atomics.notify(scan.control, 0);
    this.phaseStarted.delete(job.id);
    return this.update(job.id, { state: 'running' });
  }

  /** Cancels a scan; photos already read stay cached, so the next scan starts where it stopped. */
  cancel(jobId: string): JobDto {
    const { job, scan } = this.runningScan(jobId);
    Atomics.store(scan.control, 0, SCAN_CONTROL.cancelled);
    Atomics.notify(scan.control, 0);
    return job;
  }

  /** Runs `work` as a job in this thread; resolves at once with the job, progress follows as events. */
  runInline(
    kind: JobKind,
    work: (report: ReportProgress) => Promise<Partial<Pick<JobDto, 'retrain' | 'summary'>>>,
  ): JobDto {
    this.refuseIfRunning(kind);
    const job = this.createJob(kind);
    const report: ReportProgress = (phase, done, total) =>
      this.progress(job.id, phase, done, total);
    void work(report).then(
      (result) => this.finish(job.id, 'done', result),
      (err: unknown) => {
        const error =
          err instanceof AppError
            ? { code: err.code, message: err.message }
            : { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
        if (!(err instanceof AppError)) log.error(`${kind} failed`, err);
        this.finish(job.id, 'failed', { error });
      },
    );
    return job;
  }

  /** Cancels every running scan and waits for their threads to end. */
  async shutdown(): Promise<void> {
    const running = [...this.scans.values()];
    for (const scan of running) {
      Atomics.store(scan.control, 0, SCAN_CONTROL.cancelled);
      Atomics.notify(scan.control, 0);
    }
    await Promise.race([
      Promise.all(running.map((s) => s.exited)),
      new Promise((resolve) => setTimeout(resolve, 10_000).unref()),
    ]);
    await Promise.all(running.map((s) => s.worker.terminate()));
  }

  private refuseIfRunning(kind: JobKind): void {
    const busy = [...this.jobs.values()].some(
      (j) => j.kind === kind && (j.state === 'running' || j.state === 'paused'),
    );
    if (busy) throw new AppError('JOB_RUNNING', { kind });
  }

  private runningScan(jobId: string): { job: JobDto; scan: RunningScan } {
    const job = this.jobs.get(jobId);
    const scan = this.scans.get(jobId);
    if (!job || !scan) throw new AppError('NOT_FOUND', { what: `running scan ${jobId}` });
    return { job, scan };
  }

  private createJob(kind: JobKind): JobDto {
    const job: JobDto = {
      id: crypto.randomUUID(),
      kind,
      state: 'running',
      phase: 'starting',
      done: 0,
      total: 0,
      rate: 0,
      etaSeconds: null,
      startedAt: new Date().toISOString(),
    };
    this.jobs.set(job.id, job);
    this.trimFinished();
    this.options.emit('app:job:updated', job);
    return job;
  }

  private onScanMessage(jobId: string, message: ScanWorkerMessage): void {
    switch (message.type) {
      case 'progress':
        this.progress(jobId, message.phase, message.done, message.total);
        return;
      case 'done':
        this.finish(jobId, 'done', { summary: message.summary });
        this.options.onScanDone(message.summary);
        return;
      case 'cancelled':
        this.finish(jobId, 'cancelled', {});
        return;
      case 'failed':
        this.finish(jobId, 'failed', { error: { code: message.code, message: message.message } });
        return;
      default:
        log.warn(`unknown scan message ${JSON.stringify(message satisfies never)}`);
    }
  }

  /** Records progress; rate is items per second within the current phase. */
  private progress(jobId: string, phase: string, done: number, total: number): void {
    const job = this.jobs.get(jobId);
    if (!job || (job.state !== 'running' && job.state !== 'paused')) return;
    const now = Date.now();
    let started = this.phaseStarted.get(jobId);
    if (!started || started.phase !== phase) {
      started = { phase, at: now - 1 };
      this.phaseStarted.set(jobId, started);
    }
    const rate = done / ((now - started.at) / 1000);
    const etaSeconds = total > 0 && rate > 0 ? Math.max(0, (total - done) / rate) : null;
    this.update(jobId, { phase, done, total, rate, etaSeconds });
  }

  private finish(jobId: string, state: JobDto['state'], extra: Partial<JobDto>): void {
    const job = this.jobs.get(jobId);
    if (!job || (job.state !== 'running' && job.state !== 'paused')) return;
    this.phaseStarted.delete(jobId);
    this.update(jobId, { ...extra, state, etaSeconds: state === 'done' ? 0 : null });
  }

  private update(jobId: string, patch: Partial<JobDto>): JobDto {
    const next = { ...this.jobs.get(jobId)!, ...patch };
    this.jobs.set(jobId, next);
    this.options.emit('app:job:updated', next);
    return next;
  }

  private trimFinished(): void {
    const finished = [...this.jobs.values()].filter(
      (j) => j.state !== 'running' && j.state !== 'paused',
    );
    for (const job of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) {
      this.jobs.delete(job.id);
    }
  }
}
