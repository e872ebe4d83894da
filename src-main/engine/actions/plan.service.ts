/**
 * Builds a plan from the groups a scan stored: the keep rule decides each group, every photo gets
 * exactly one action, and each action carries what apply needs to recognise the file.
 */
import type { GroupKind } from '../../contract/types';
import { decideKeep, type KeepCandidate, type KeepCriterion } from '../../core/keep-rule';
import type { Db } from '../db/database';
import { CompanionRepository } from '../db/companion.repository';
import { PhotoRepository } from '../db/photo.repository';
import { describeBundles } from '../scan/bundle.service';
import type { Plan, PlanAction, PlanCompanion } from './plan.schema';
import { isInside, protectForms, protectingFolder } from './protect';

/** Kinds planned when none is asked for: similar groups are never suggested for the trash by default. */
export const DEFAULT_PLAN_KINDS: readonly GroupKind[] = ['exact', 'near-duplicate'];

// Coarser groups first: a near-duplicate group holds every byte-identical copy of its contents, so
// deciding it first lets one keep decision cover the exact copies too.
const KIND_ORDER: Record<GroupKind, number> = { similar: 0, 'near-duplicate': 1, exact: 2 };

/** Group labels that are never acted on: RAW+JPEG pairs are kept together on purpose. */
const UNPLANNED_LABELS = new Set(['raw+jpeg']);

export interface BuildPlanOptions {
  kinds?: readonly GroupKind[];
  /** Folders whose copies are always kept (absolute or relative to the working folder). */
  protect?: readonly string[];
  /** Keep-rule criteria, most important first. */
  order?: readonly KeepCriterion[];
}

interface MemberRow {
  group_id: number;
  kind: GroupKind;
  label: string | null;
  id: number;
  path: string;
  size: number;
  mtime_ms: number;
  content_hash: string;
  format: string | null;
  width: number | null;
  height: number | null;
  taken_at: string | null;
  exif_fields: number;
  sharpness: number | null;
}

/**
 * Decides every stored group of `kinds` whose readable members number two or more. A photo
 * already decided by an earlier group keeps its action: if it is trashed there it is left out of
 * later groups, if kept it is kept in them too. Only photos with status `ok` take part.
 */
export function buildPlan(db: Db, opts: BuildPlanOptions = {}): Plan {
  const kinds = [...(opts.kinds ?? DEFAULT_PLAN_KINDS)];
  const protect = protectForms(opts.protect ?? []);
  const { companions, editedOf } = loadBundles(db);
  const editPartners = new Map<number, number[]>();
  for (const [edit, original] of editedOf) {
    editPartners.set(edit, [...(editPartners.get(edit) ?? []), original]);
    editPartners.set(original, [...(editPartners.get(original) ?? []), edit]);
  }
  const decided = new Map<string, PlanAction>();

  for (const group of loadGroups(db, kinds)) {
    const members = group.members.filter((m) => decided.get(m.path)?.action !== 'trash');
    if (members.length < 2) continue;
    const ids = new Set(members.map((m) => m.id));
    const candidates = members.map((m) => {
      const candidate = toCandidate(m, protect, decided.get(m.path));
      // An edit and its original (IMG_E1234 / IMG_1234, NAME-edited) are both the user's work:
      // the plan keeps both and leaves the choice to them.
      const partner = (editPartners.get(m.id) ?? []).find((id) => ids.has(id));
      const mustKeep =
        candidate.mustKeep ??
        (partner === undefined
          ? null
          : editedOf.has(m.id)
            ? 'an edited version of a photo in this group: Doppel keeps edits for you to decide'
            : 'the original of an edited version in this group: kept for you to decide');
      return {
        ...candidate,
        mustKeep,
        companionBytes: (companions.get(m.id) ?? []).reduce((sum, c) => sum + c.size, 0),
      };
    });
    const decisions = decideKeep(candidates, { order: opts.order, kind: group.kind });
    const best = decisions[0].path;
    for (const d of decisions) {
      if (decided.has(d.path)) continue;
      const m = members.find((x) => x.path === d.path)!;
      decided.set(d.path, {
        path: m.path,
        action: d.keep ? 'keep' : 'trash',
        reason: d.reason,
        group: group.id,
        groupKind: group.kind,
        photoId: m.id,
        size: m.size,
        mtimeMs: m.mtime_ms,
        contentHash: m.content_hash,
        companions: companions.get(m.id) ?? [],
        ...(d.keep ? {} : { keptCopy: best }),
      });
    }
  }

  const actions = [...decided.values()];
  return {
    version: 1,
    createdAt: new Date().toISOString(),
    kinds,
    ...(opts.order ? { prefer: [...opts.order] } : {}),
    protect,
    roots: scannedRoots(db).filter((root) => actions.some((a) => isInside(a.path, root))),
    actions,
  };
}

function toCandidate(
  m: MemberRow,
  protect: string[],
  earlier: PlanAction | undefined,
): KeepCandidate {
  const folder = protectingFolder(m.path, protect);
  const mustKeep = folder
    ? `inside protected folder ${folder}`
    : earlier?.action === 'keep'
      ? `kept as the best copy of group ${earlier.group}`
      : null;
  return {
    path: m.path,
    width: m.width,
    height: m.height,
    size: m.size,
    format: m.format,
    exifFields: m.exif_fields,
    sharpness: m.sharpness,
    takenAt: m.taken_at,
    mtimeMs: m.mtime_ms,
    contentHash: m.content_hash,
    mustKeep,
  };
}

function loadGroups(
  db: Db,
  kinds: GroupKind[],
): { id: number; kind: GroupKind; members: MemberRow[] }[] {
  const rows = db
    .prepare<[], MemberRow>(
      `SELECT g.id AS group_id, g.kind, g.label, p.id, p.path, p.size, p.mtime_ms, p.content_hash,
         p.format, p.width, p.height, p.taken_at, p.exif_fields, p.sharpness
       FROM groups g
       JOIN group_members m ON m.group_id = g.id
       JOIN photos p ON p.id = m.photo_id
       WHERE p.status = 'ok' AND p.content_hash IS NOT NULL
       ORDER BY g.id, m.position`,
    )
    .all();
  const groups = new Map<number, { id: number; kind: GroupKind; members: MemberRow[] }>();
  for (const row of rows) {
    if (!kinds.includes(row.kind) || (row.label && UNPLANNED_LABELS.has(row.label))) continue;
    let group = groups.get(row.group_id);
    if (!group)
      groups.set(row.group_id, (group = { id: row.group_id, kind: row.kind, members: [] }));
    group.members.push(row);
  }
  return [...groups.values()].sort(
    (a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.id - b.id,
  );
}

/**
 * The files travelling with each photo (sidecars, Live Photo video, the RAW half of a pair), with
 * the size and date apply checks, and which photos are edited versions of which. Empty when the
 * database predates companion records.
 */
function loadBundles(db: Db): {
  companions: Map<number, PlanCompanion[]>;
  editedOf: Map<number, number>;
} {
  const out = new Map<number, PlanCompanion[]>();
  const hasTable = db
    .prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'companions'`)
    .get();
  if (!hasTable) return { companions: out, editedOf: new Map() };
  const photos = new PhotoRepository(db).listOkPhotos();
  const rows = new CompanionRepository(db).byPhoto();
  const known = new Map<string, PlanCompanion>();
  for (const list of rows.values()) {
    for (const c of list) known.set(c.path, { path: c.path, size: c.size, mtimeMs: c.mtime_ms });
  }
  for (const p of photos) {
    const hash = p.content_hash ? { contentHash: p.content_hash } : {};
    known.set(p.path, { path: p.path, size: p.size, mtimeMs: p.mtime_ms, ...hash });
  }
  const bundles = describeBundles(photos, rows);
  for (const [photoId, paths] of bundles.companions) {
    out.set(
      photoId,
      paths.flatMap((p) => (known.has(p) ? [known.get(p)!] : [])),
    );
  }
  return { companions: out, editedOf: bundles.editedOf };
}

/** Every folder any scan was asked to walk, newest scan first, without repeats. */
function scannedRoots(db: Db): string[] {
  const rows = db.prepare<[], { roots: string }>('SELECT roots FROM scans ORDER BY id DESC').all();
  const roots = new Set<string>();
  for (const row of rows) {
    try {
      const parsed: unknown = JSON.parse(row.roots);
      if (Array.isArray(parsed))
        parsed.filter((r) => typeof r === 'string').forEach((r) => roots.add(r));
    } catch {
      // A scans row with unreadable roots only loses the relative layout of --move-to.
    }
  }
  return [...roots];
}
