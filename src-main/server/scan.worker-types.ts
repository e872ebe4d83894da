/** What the job manager and a scan thread tell each other. */
import type { Provider, ScanSummary } from '../contract/types';

/** Values of the shared control word: the job manager writes, the scan thread reads. */
export const SCAN_CONTROL = { running: 0, paused: 1, cancelled: 2 } as const;

export interface ScanWorkerData {
  dbFile: string;
  modelDir: string;
  roots: string[];
  exclude: string[];
  provider: Provider;
  /** One Int32 over a SharedArrayBuffer holding a SCAN_CONTROL value. */
  control: Int32Array;
}

export type ScanWorkerMessage =
  | { type: 'progress'; phase: string; done: number; total: number }
  | { type: 'done'; summary: ScanSummary }
  | { type: 'cancelled' }
  | { type: 'failed'; code: string; message: string };
