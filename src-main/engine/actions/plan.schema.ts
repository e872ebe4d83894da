/**
 * The plan file that `doppel plan --json` writes and `doppel apply --plan` reads: one action per
 * photo, with what apply needs to check that the file is still the one that was scanned.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { AppError } from '../../contract/errors';
import { GROUP_KINDS } from '../../contract/types';
import { KEEP_CRITERIA } from '../../core/keep-rule';

const SHA256_HEX = /^[0-9a-f]{64}$/;
const absolutePath = z.string().refine((p) => path.isAbsolute(p), 'must be an absolute path');

/** A file that travels with its photo (sidecar, Live Photo video, RAW half of a pair). */
export const PlanCompanionSchema = z.object({
  path: absolutePath,
  size: z.number().int().nonnegative(),
  mtimeMs: z.number(),
  /** Checked when present; a companion's hash is otherwise taken just before it moves. */
  contentHash: z.string().regex(SHA256_HEX).optional(),
});

/** One photo's fate. `trash` means "take it out of the library": to the trash, or `--move-to`. */
export const PlanActionSchema = z.object({
  path: absolutePath,
  action: z.enum(['keep', 'trash']),
  reason: z.string().default(''),
  group: z.number().int(),
  groupKind: z.enum(GROUP_KINDS as [string, ...string[]]).optional(),
  photoId: z.number().int().optional(),
  size: z.number().int().nonnegative(),
  mtimeMs: z.number(),
  contentHash: z.string().regex(SHA256_HEX, 'must be a sha256 in lowercase hex'),
  companions: z.array(PlanCompanionSchema).default([]),
  /** Where this photo is one file of a bundle: `raw+jpeg`, `live-photo`, `edited-version`. */
  bundle: z.string().optional(),
  /** For a `trash` action: the copy kept in its stead (apply checks that it is still there). */
  keptCopy: absolutePath.optional(),
  /** Lets apply remove the group's last copy (with --yes); never set by `doppel plan`. */
  allowLastCopy: z.boolean().optional(),
});

/** A whole plan: its actions, and the protected folders and scanned roots apply respects. */
export const PlanSchema = z.object({
  version: z.literal(1).default(1),
  createdAt: z.string().optional(),
  kinds: z.array(z.enum(GROUP_KINDS as [string, ...string[]])).optional(),
  prefer: z.array(z.enum(KEEP_CRITERIA)).optional(),
  /** Folders whose files apply never trashes or moves. */
  protect: z.array(absolutePath).default([]),
  /** The scanned folders; `--move-to` keeps paths relative to them. */
  roots: z.array(absolutePath).default([]),
  actions: z.array(PlanActionSchema),
});

export type Plan = z.infer<typeof PlanSchema>;
export type PlanAction = z.infer<typeof PlanActionSchema>;
export type PlanCompanion = z.infer<typeof PlanCompanionSchema>;

/** Reads and validates a plan file. Throws AppError PLAN_INVALID naming the first problem. */
export function readPlanFile(file: string): Plan {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const detail = code === 'ENOENT' ? 'file not found' : (err as Error).message;
    throw new AppError('PLAN_INVALID', { path: file, detail });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new AppError('PLAN_INVALID', {
      path: file,
      detail: `not JSON (${(err as Error).message})`,
    });
  }
  const parsed = PlanSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? issue.path.join('.') : 'top level';
    throw new AppError('PLAN_INVALID', { path: file, detail: `${where}: ${issue.message}` });
  }
  return parsed.data;
}
