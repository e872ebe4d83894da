/** One sink for what the user should see: errors as toasts, cancellations ignored. */
import { ApiError } from '../lib/api';

export interface Notice {
  id: number;
  kind: 'error' | 'info';
  text: string;
}

export class NoticeManager {
  notices = $state<Notice[]>([]);
  private nextId = 1;

  /** Shows an info line for a few seconds. */
  info(text: string): void {
    this.push('info', text);
  }

  /** Shows an error from any thrown value; cancellations are not failures and stay silent. */
  error(err: unknown): void {
    if (err instanceof ApiError && err.code === 'CANCELLED') return;
    const text =
      err instanceof ApiError
        ? err.hint
          ? `${err.message} ${err.hint}`
          : err.message
        : err instanceof Error
          ? err.message
          : String(err);
    if (!(err instanceof ApiError)) console.error(err);
    this.push('error', text);
  }

  dismiss(id: number): void {
    this.notices = this.notices.filter((n) => n.id !== id);
  }

  private push(kind: Notice['kind'], text: string): void {
    const id = this.nextId++;
    this.notices = [...this.notices.slice(-4), { id, kind, text }];
    setTimeout(() => this.dismiss(id), kind === 'error' ? 8000 : 4000);
  }
}
