/** `doppel plan`: what to keep and what to trash in every group, with a reason for each photo. */
import fs from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { AppError } from '../../contract/errors';
import { GROUP_KINDS, type GroupKind } from '../../contract/types';
import { parseKeepOrder, type KeepCriterion } from '../../core/keep-rule';
import { buildPlan, DEFAULT_PLAN_KINDS } from '../../engine/actions/plan.service';
import type { Plan } from '../../engine/actions/plan.schema';
import { openDbFromOptions, parseChoice, printResult } from '../context';

interface PlanOptions {
  db?: string;
  kind: GroupKind[];
  protect: string[];
  prefer?: KeepCriterion[];
  json?: boolean;
}

export function register(program: Command): void {
  const kindParser = parseChoice('--kind', GROUP_KINDS);
  program
    .command('plan')
    .description('suggest which copy of each group to keep and which to trash')
    .option('--db <file>', 'database file (default: the per-user app data folder)')
    .addOption(
      new Option(
        '--kind <kind>',
        'plan groups of this kind (repeatable; default exact and near-duplicate)',
      ).argParser((value: string, previous: GroupKind[] = []) => [...previous, kindParser(value)]),
    )
    .option(
      '--protect <dir>',
      'never trash or move anything in this folder (repeatable)',
      collect,
      [],
    )
    .option(
      '--prefer <criteria>',
      'keep-rule order, comma separated: resolution,size,format,exif,sharpness,date',
      parsePrefer,
    )
    .option('--json', 'print the plan as JSON (save it for `doppel apply --plan`)')
    .action((opts: PlanOptions) => {
      const protect = opts.protect.map((dir) => checkProtectFolder(dir));
      const { db } = openDbFromOptions(opts);
      try {
        const plan = buildPlan(db, {
          kinds: opts.kind ?? DEFAULT_PLAN_KINDS,
          protect,
          order: opts.prefer,
        });
        printResult(plan, Boolean(opts.json), () => formatPlan(plan));
      } finally {
        db.close();
      }
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parsePrefer(value: string): KeepCriterion[] {
  const parsed = parseKeepOrder(value);
  if (!parsed.ok) {
    throw new InvalidArgumentError(
      `--prefer "${parsed.given}" is not one of: ${parsed.accepted} (each once).`,
    );
  }
  return parsed.order;
}

// A protected folder that does not exist is almost always a typo; acting on a plan that protects
// nothing would be the worst way to find out.
function checkProtectFolder(dir: string): string {
  const abs = path.resolve(dir);
  const stat = fs.statSync(abs, { throwIfNoEntry: false });
  if (!stat) throw new AppError('FOLDER_NOT_FOUND', { path: abs });
  if (!stat.isDirectory()) throw new AppError('NOT_A_FOLDER', { path: abs });
  return abs;
}

function formatPlan(plan: Plan): string {
  if (plan.actions.length === 0)
    return 'No groups to act on. Run `doppel scan` first, or widen --kind.\n';
  const lines: string[] = [];
  let group: number | null = null;
  for (const a of plan.actions) {
    if (a.group !== group) {
      group = a.group;
      const size = plan.actions.filter((x) => x.group === group).length;
      lines.push('', `Group ${group} (${a.groupKind ?? 'group'}, ${size} photos)`);
    }
    const extra = a.companions.length ? ` (+${a.companions.length} companion files)` : '';
    lines.push(
      `  ${a.action === 'keep' ? 'keep ' : 'trash'}  ${a.path}${extra}`,
      `         ${a.reason}`,
    );
  }
  const trashed = plan.actions.filter((a) => a.action === 'trash');
  const bytes = trashed.reduce(
    (sum, a) => sum + a.size + a.companions.reduce((s, c) => s + c.size, 0),
    0,
  );
  lines.push(
    '',
    `${trashed.length} photos suggested for the trash, ${(bytes / (1024 * 1024)).toFixed(1)} MB.`,
    'Save the plan with `doppel plan --json > plan.json`, review it, then run',
    '`doppel apply --plan plan.json` (a dry run) and add --yes to act.',
  );
  return lines.join('\n').replace(/^\n/, '') + '\n';
}
