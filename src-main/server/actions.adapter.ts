/**
 * The engine host's door to the safe-actions engine (src-main/engine/actions): one user decision
 * on one group becomes a plan for that group, applied (journaled, verified, reversible); undo
 * reverses the latest run. A confirmed trash also records the implicit "these were duplicates"
 * label for learning.
 */
import { AppError } from '../contract/errors';
import type { ActionResultDto } from '../contract/ipc';
import type { GroupKind } from '../contract/types';
import type { KeepCriterion } from '../core/keep-rule';
import { applyPlan } from '../engine/actions/apply.service';
import type { Plan, PlanAction } from '../engine/actions/plan.schema';
import { buildPlan } from '../engine/actions/plan.service';
import { undoRuns } from '../engine/actions/undo.service';
import type { Db } from '../engine/db/database';
import { isInside, type PhotoRow } from '../engine/db/photo.repository';
import { recordTrashConfirmed } from '../engine/learn/labels.service';
import { createLogger } from '../engine/log/logger';

const log = createLogger('actions');

/** One user decision on one group, already checked against the group by the host. */
export interface ActionRequest {
  groupId: number;
  kind: GroupKind;
  members: PhotoRow[];
  /** Ids of the photos the user keeps (possibly none, when confirmed). */
  keep: number[];
  moveTo: string | null;
  allowLoseAll: boolean;
  protectedFolders: string[];
  roots: string[];
  order: readonly KeepCriterion[];
}

export interface ActionsService {
  apply(request: ActionRequest): Promise<ActionResultDto>;
  undoLast(): Promise<ActionResultDto>;
}

export function createActionsService(db: Db): ActionsService {
  return {
    apply: async (request) => {
      const plan = planForGroup(db, request);
      const report = await applyPlan(db, {
        plan,
        confirmed: true,
        ...(request.moveTo ? { moveTo: request.moveTo } : {}),
        protect: request.protectedFolders,
      });
      const outcomes = report.results.flatMap((r) => [
        {
          path: r.path,
          outcome: r.outcome,
          ...(r.outcome === 'skipped' || r.outcome === 'failed' ? { detail: r.reason } : {}),
        },
        ...r.companions.map((c) => ({ path: c.path, outcome: c.outcome, detail: c.reason })),
      ]);
      const removed = report.results.filter(
        (r) => r.outcome === 'trashed' || r.outcome === 'moved',
      );
      recordDecision(
        db,
        request,
        removed.map((r) => r.path),
      );
      return { runId: report.runId, outcomes, groupsChanged: removed.length > 0 };
    },
    undoLast: async () => {
      const report = undoRuns(db, { last: 1 });
      if (report.runs.length === 0) throw new AppError('NOT_FOUND', { what: 'an action to undo' });
      return {
        runId: report.runs[0] ?? null,
        outcomes: report.results.map((r) => ({
          path: r.path,
          outcome: r.outcome,
          ...(r.outcome === 'restored' ? {} : { detail: r.reason }),
        })),
        groupsChanged: report.results.some((r) => r.outcome === 'restored'),
      };
    },
  };
}

/**
 * The plan for one group with the user's choice: the engine's plan for that group (which knows
 * each photo's companions) with keep/trash set as the user decided.
 */
function planForGroup(db: Db, request: ActionRequest): Plan {
  const base = buildPlan(db, {
    kinds: [request.kind],
    protect: request.protectedFolders,
    order: request.order,
  });
  const planned = new Map(
    base.actions.filter((a) => a.group === request.groupId).map((a) => [a.path, a]),
  );
  const keep = new Set(request.keep);
  const kept = request.members.find((m) => keep.has(m.id));
  const actions: PlanAction[] = request.members
    .filter((m) => m.status === 'ok' && m.content_hash)
    .map((m) => {
      const action: PlanAction = planned.get(m.path) ?? {
        path: m.path,
        action: 'keep',
        reason: '',
        group: request.groupId,
        groupKind: request.kind,
        photoId: m.id,
        size: m.size,
        mtimeMs: m.mtime_ms,
        contentHash: m.content_hash!,
        // Limitation: a photo the engine's plan left out (decided by another group) travels
        // without its companions here; they stay where they are, nothing is lost.
        companions: [],
      };
      const isKept = keep.has(m.id);
      const rest = { ...action };
      delete rest.keptCopy;
      delete rest.allowLastCopy;
      return {
        ...rest,
        action: isKept ? 'keep' : 'trash',
        reason: isKept ? 'keep: chosen in review' : 'trash: chosen in review',
        ...(!isKept && kept ? { keptCopy: kept.path } : {}),
        ...(!isKept && request.allowLoseAll ? { allowLastCopy: true } : {}),
      };
    });
  return {
    ...base,
    roots: request.roots.filter((root) => actions.some((a) => isInside(a.path, root))),
    actions,
  };
}

/** A confirmed trash with a kept copy says "these were duplicates": an implicit label. */
function recordDecision(db: Db, request: ActionRequest, removedPaths: string[]): void {
  const kept = request.members.find((m) => request.keep.includes(m.id) && m.content_hash);
  const removed = request.members.filter((m) => removedPaths.includes(m.path) && m.content_hash);
  if (!kept || removed.length === 0) return;
  try {
    recordTrashConfirmed(
      db,
      { hash: kept.content_hash!, path: kept.path },
      removed.map((m) => ({ hash: m.content_hash!, path: m.path })),
    );
  } catch (err) {
    // The action itself succeeded; a label that cannot be stored must not undo that.
    log.warn(`could not record the decision as a label: ${(err as Error).message}`);
  }
}
