/** `doppel apply --plan FILE`: carry out a plan (a dry run unless --yes), journaled and reversible. */
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { AppError } from '../../contract/errors';
import { applyPlan, type ApplyReport } from '../../engine/actions/apply.service';
import { NODE_FS, withFoldersAsDevices, type ActionFs } from '../../engine/actions/file-ops';
import type { ActionResult, FileResult } from '../../engine/actions/outcomes';
import { readPlanFile } from '../../engine/actions/plan.schema';
import type { ReconcileReport } from '../../engine/actions/reconcile.service';
import { openDbFromOptions, printResult, resolveDbFile } from '../context';

interface ApplyCliOptions {
  db?: string;
  plan: string;
  moveTo?: string;
  protect: string[];
  yes?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('apply')
    .description('carry out a plan: a dry run unless --yes; files go to the trash or --move-to')
    .option('--db <file>', 'database file (default: the per-user app data folder)')
    .requiredOption('--plan <file>', 'plan file written by `doppel plan --json`')
    .option(
      '--move-to <dir>',
      'move files here (keeping their paths relative to the scanned folder)',
    )
    .option('--protect <dir>', 'also never touch this folder (repeatable)', collect, [])
    .option('--yes', 'act; without it nothing changes and the plan is only checked')
    .option('--json', 'print the results as JSON')
    .action(async (opts: ApplyCliOptions) => {
      const planPath = path.resolve(opts.plan);
      const plan = readPlanFile(planPath);
      resolveDbFile(opts); // refuse a missing database before creating --move-to
      const moveTo = opts.moveTo ? prepareMoveTarget(opts.moveTo, Boolean(opts.yes)) : undefined;
      const { db } = openDbFromOptions(opts);
      try {
        const report = await applyPlan(db, {
          plan,
          planPath,
          moveTo,
          confirmed: Boolean(opts.yes),
          protect: opts.protect.map((p) => path.resolve(p)),
          ...testSeams(),
        });
        printResult(report, Boolean(opts.json), () => formatReport(report));
      } finally {
        db.close();
      }
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Resolves --move-to; creates it when acting, refuses a path that is not a folder. */
function prepareMoveTarget(dir: string, confirmed: boolean): string {
  const abs = path.resolve(dir);
  const stat = fs.statSync(abs, { throwIfNoEntry: false });
  if (stat && !stat.isDirectory())
    throw new AppError('MOVE_TARGET_INVALID', { path: abs, detail: 'not a folder' });
  if (!stat && confirmed) {
    try {
      fs.mkdirSync(abs, { recursive: true });
    } catch (err) {
      throw new AppError('MOVE_TARGET_INVALID', { path: abs, detail: (err as Error).message });
    }
  }
  return abs;
}

/**
 * Test seams read from the environment, used by the crash test only:
 * DOPPEL_TEST_STEP_DELAY_MS pauses that long at each point inside a move (so a kill lands
 * mid-step), DOPPEL_TEST_FOLDERS_AS_DEVICES=1 makes every folder act as its own disk (EXDEV).
 */
export function testSeams(): { pause?: () => void; fs?: ActionFs } {
  const delay = Number(process.env.DOPPEL_TEST_STEP_DELAY_MS ?? 0);
  const seams: { pause?: () => void; fs?: ActionFs } = {};
  if (delay > 0) {
    const cell = new Int32Array(new SharedArrayBuffer(4));
    seams.pause = () => void Atomics.wait(cell, 0, 0, delay);
  }
  if (process.env.DOPPEL_TEST_FOLDERS_AS_DEVICES === '1') seams.fs = withFoldersAsDevices(NODE_FS);
  return seams;
}

const LABELS: Record<string, string> = {
  kept: 'kept',
  trashed: 'trashed',
  moved: 'moved',
  'would-trash': 'would trash',
  'would-move': 'would move',
  skipped: 'skipped',
  failed: 'failed',
  restored: 'restored',
};

function formatReport(report: ApplyReport): string {
  const lines: string[] = [];
  lines.push(...formatReconcile(report.reconciled));
  if (report.dryRun) lines.push('Dry run: nothing was changed. Run again with --yes to act.');
  for (const r of report.results) {
    if (r.outcome === 'kept') continue;
    lines.push(formatLine(r, ''));
    for (const c of r.companions) lines.push(formatLine(c, '  '));
  }
  const summary = Object.entries(report.counts)
    .map(([outcome, n]) => `${n} ${LABELS[outcome] ?? outcome}`)
    .join(', ');
  lines.push(`Summary: ${summary || 'nothing to do'}.`);
  if (!report.dryRun && report.runId !== null)
    lines.push(`Run ${report.runId}; \`doppel undo\` puts these files back.`);
  return lines.join('\n') + '\n';
}

function formatLine(r: FileResult | ActionResult, indent: string): string {
  const label = (LABELS[r.outcome] ?? r.outcome).padEnd(12);
  if (r.outcome === 'skipped' || r.outcome === 'failed')
    return `${indent}${label}${r.path}: ${r.reason}`;
  return `${indent}${label}${r.path}${r.destination ? ` -> ${r.destination}` : ''}`;
}

/** Lines telling what a reconcile found, when it found anything (shared with undo). */
export function formatReconcile(r: ReconcileReport): string[] {
  if (r.settled === 0 && r.interruptedRuns === 0) return [];
  return [
    `An earlier run was interrupted; its ${r.settled} unfinished files were settled: ` +
      `${r.completed} had arrived, ${r.notDone} were still in place, ${r.rolledBack} put back to keep bundles whole.`,
    ...r.problems.map((p) => `  ${p.path}: ${p.reason}`),
  ];
}
