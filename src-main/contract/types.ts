/**
 * Data shapes shared by the engine, the CLI, the HTTP server and the renderer. Plain types only.
 */
import type { ProblemCode } from './errors';

export type GroupKind = 'exact' | 'near-duplicate' | 'similar';
export const GROUP_KINDS: readonly GroupKind[] = ['exact', 'near-duplicate', 'similar'];

export type Provider = 'auto' | 'cpu' | 'cuda' | 'dml';
export const PROVIDERS: readonly Provider[] = ['auto', 'cpu', 'cuda', 'dml'];

/** Content type detected from a file's bytes (never from its extension). */
export type ImageFormat =
  'jpeg' | 'png' | 'webp' | 'avif' | 'heic' | 'gif' | 'tiff' | 'bmp' | 'raw';

export type BundleKind = 'raw+jpeg' | 'live-photo' | 'edited-version';

/** One photo inside a group, as `doppel groups --json` prints it. */
export interface GroupPhotoDto {
  path: string;
  /** Euclidean distance to the group's first photo (0 for the first). */
  distance: number;
  companions?: string[];
  bundle?: BundleKind;
}

export interface GroupDto {
  kind: GroupKind;
  label?: 'burst';
  /** Present on the RAW+JPEG pair groups that `--pairs` lists. */
  pair?: 'raw+jpeg';
  photos: GroupPhotoDto[];
}

export interface NeighborDto {
  path: string;
  neighbors: { path: string; distance: number }[];
}

export interface ProblemDto {
  path: string;
  code: ProblemCode;
  reason: string;
}

/** Summary a scan returns when it completes. */
export interface ScanSummary {
  photos: number;
  embedded: number;
  reused: number;
  /** Files that are not images (videos, documents) and not named like one: skipped quietly. */
  ignored: number;
  unchanged: number;
  skipped: number;
  problems: ProblemDto[];
  groups: Record<GroupKind, number>;
  provider: string;
  seconds: number;
}
