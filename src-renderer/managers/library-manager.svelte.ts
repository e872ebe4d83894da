/** Library screen state: folders, exclusions, protected folders, the scan job and problems. */
import type { JobDto, LibraryDto, ProblemListDto } from '../../src-main/contract/ipc';
import type { Api } from '../lib/api';
import type { NoticeManager } from './notice-manager.svelte';

export class LibraryManager {
  library = $state<LibraryDto>({ folders: [], exclusions: [], protectedFolders: [] });
  problems = $state<ProblemListDto['problems']>([]);
  scan = $state<JobDto | null>(null);
  isScanning = $derived(this.scan?.state === 'running' || this.scan?.state === 'paused');

  constructor(
    private readonly api: Api,
    private readonly notices: NoticeManager,
  ) {
    api.on('app:job:updated', (job) => {
      if (job.kind !== 'scan') return;
      this.scan = job;
      if (job.state === 'done') void this.loadProblems();
      if (job.state === 'failed' && job.error) this.notices.error(new Error(job.error.message));
    });
  }

  async load(): Promise<void> {
    const [library, jobs] = await Promise.all([
      this.api.call('app:library:get', {}),
      this.api.call('app:jobs:list', {}),
    ]);
    this.library = library;
    this.scan = jobs.filter((j) => j.kind === 'scan').at(-1) ?? null;
    await this.loadProblems();
  }

  async loadProblems(): Promise<void> {
    this.problems = (await this.api.call('app:problems:list', {})).problems;
  }

  /** Adds a folder; with no path given, opens the native picker (desktop app only). */
  async addFolder(path?: string): Promise<boolean> {
    try {
      const chosen = path?.trim() || (await this.api.call('app:library:pick-folder', {})).path;
      if (!chosen) return false;
      this.library = await this.api.call('app:library:add-folder', { path: chosen });
      return true;
    } catch (err) {
      this.notices.error(err);
      return false;
    }
  }

  async removeFolder(path: string): Promise<void> {
    await this.guard(async () => {
      this.library = await this.api.call('app:library:remove-folder', { path });
    });
  }

  async setExclusions(patterns: string[]): Promise<void> {
    await this.guard(async () => {
      this.library = await this.api.call('app:library:set-exclusions', { patterns });
    });
  }

  async setProtected(folders: string[]): Promise<void> {
    await this.guard(async () => {
      this.library = await this.api.call('app:library:set-protected', { folders });
    });
  }

  async startScan(): Promise<void> {
    await this.guard(async () => {
      this.scan = await this.api.call('app:scan:start', {});
    });
  }

  async pause(): Promise<void> {
    await this.control('app:scan:pause');
  }

  async resume(): Promise<void> {
    await this.control('app:scan:resume');
  }

  async cancel(): Promise<void> {
    await this.control('app:scan:cancel');
  }

  private async control(
    channel: 'app:scan:pause' | 'app:scan:resume' | 'app:scan:cancel',
  ): Promise<void> {
    const job = this.scan;
    if (!job) return;
    await this.guard(async () => {
      this.scan = await this.api.call(channel, { jobId: job.id });
    });
  }

  private async guard(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      this.notices.error(err);
    }
  }
}
