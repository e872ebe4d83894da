/** Learning state: label counts, the retrain job with its before/after figure, head versions. */
import type { HeadVersionDto, JobDto, LabelCountDto } from '../../src-main/contract/ipc';
import type { Api } from '../lib/api';
import type { NoticeManager } from './notice-manager.svelte';

export class LearnManager {
  labels = $state<LabelCountDto>({ explicit: 0, implicit: 0 });
  heads = $state<HeadVersionDto[]>([]);
  job = $state<JobDto | null>(null);
  isTraining = $derived(this.job?.state === 'running');

  constructor(
    private readonly api: Api,
    private readonly notices: NoticeManager,
  ) {
    api.on('app:job:updated', (job) => {
      if (job.kind !== 'retrain') return;
      this.job = job;
      if (job.state === 'done') void this.load();
      if (job.state === 'failed' && job.error) this.notices.error(new Error(job.error.message));
    });
  }

  async load(): Promise<void> {
    try {
      [this.labels, this.heads] = await Promise.all([
        this.api.call('app:labels:count', {}),
        this.api.call('app:learn:heads', {}),
      ]);
    } catch (err) {
      this.notices.error(err);
    }
  }

  async retrain(): Promise<void> {
    try {
      this.job = await this.api.call('app:learn:retrain', {});
    } catch (err) {
      this.notices.error(err);
    }
  }

  async revert(version: number): Promise<void> {
    try {
      this.heads = await this.api.call('app:learn:revert', { version });
      this.notices.info(`Reverted to head version ${version}.`);
    } catch (err) {
      this.notices.error(err);
    }
  }
}
