/** `doppel groups`, `doppel neighbors` and `doppel problems`: read what a scan stored. */
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  GROUP_KINDS,
  type GroupDto,
  type GroupKind,
  type NeighborDto,
  type ProblemDto,
} from '../../contract/types';
import { AppError, PROBLEM_CATALOG, type ProblemCode } from '../../contract/errors';
import { findNeighbors, thresholdsProblem } from '../../core/grouping';
import { PhotoRepository } from '../../engine/db/photo.repository';
import {
  currentThresholds,
  RAW_PAIR_LABEL,
  regroupFromCache,
  refreshEmbeddings,
} from '../../engine/scan/grouping.service';
import { CompanionRepository } from '../../engine/db/companion.repository';
import { describeBundles } from '../../engine/scan/bundle.service';
import { openDbFromOptions, parseChoice, parsePositiveInt, printResult } from '../context';
import { loadModelFromOptions } from '../model-option';
import { currentModel } from '../../engine/learn/head.service';

interface GroupsOptions {
  db?: string;
  kind?: GroupKind;
  near?: number;
  similar?: number;
  pairs?: boolean;
  json?: boolean;
  model?: string;
}

export function register(program: Command): void {
  program
    .command('groups')
    .description('list groups of exact, near-duplicate and similar photos')
    .option('--db <file>', 'database file')
    .addOption(
      new Option('--kind <kind>', 'only this kind').argParser(parseChoice('--kind', GROUP_KINDS)),
    )
    .option(
      '--near <distance>',
      'near-duplicate distance threshold (saved for later runs)',
      parseDistance,
    )
    .option(
      '--similar <distance>',
      'similar distance threshold (saved for later runs)',
      parseDistance,
    )
    .option('--pairs', 'also list RAW+JPEG pairs as groups (hidden by default: most keep both)')
    .option('--json', 'print JSON')
    .addOption(new Option('--model <dir>').hideHelp())
    .action((opts: GroupsOptions) => {
      const { db } = openDbFromOptions(opts);
      try {
        const repo = new PhotoRepository(db);
        if (opts.near !== undefined || opts.similar !== undefined) {
          const model = currentModel(db, loadModelFromOptions(opts.model));
          const thresholds = { ...currentThresholds(repo, model) };
          if (opts.near !== undefined) thresholds.nearDuplicate = opts.near;
          if (opts.similar !== undefined) thresholds.similar = opts.similar;
          // Check the pair as it would be saved (the new value with the one in force) before
          // anything is written: a refused pair must not be left behind to break later runs.
          if (thresholdsProblem(thresholds)) {
            throw new AppError('THRESHOLDS_INVALID', {
              near: thresholds.nearDuplicate,
              similar: thresholds.similar,
            });
          }
          regroupFromCache(repo, new CompanionRepository(db), model, thresholds);
          repo.setSetting('thresholds', JSON.stringify(thresholds));
        }
        const companions = new CompanionRepository(db);
        const bundles = describeBundles(repo.listOkPhotos(), companions.byPhoto());
        const groups: GroupDto[] = repo
          .listGroups(opts.kind)
          .filter((g) => opts.pairs || g.label !== RAW_PAIR_LABEL)
          .map((g) => ({
            kind: g.kind,
            ...(g.label === 'burst' ? { label: 'burst' as const } : {}),
            ...(g.label === RAW_PAIR_LABEL ? { pair: RAW_PAIR_LABEL } : {}),
            photos: g.members.map((m) => ({
              path: m.photo.path,
              distance: round(m.distance),
              ...(bundles.companions.has(m.photo.id)
                ? { companions: bundles.companions.get(m.photo.id)! }
                : {}),
              ...(bundles.bundle.has(m.photo.id)
                ? { bundle: bundles.bundle.get(m.photo.id)! }
                : {}),
            })),
          }));
        printResult({ groups }, Boolean(opts.json), () => formatGroups(groups));
      } finally {
        db.close();
      }
    });

  program
    .command('neighbors')
    .description('list the k nearest photos of every photo')
    .option('--db <file>', 'database file')
    .requiredOption('--k <n>', 'neighbours per photo', parsePositiveInt('--k'))
    .option('--json', 'print JSON')
    .addOption(new Option('--model <dir>').hideHelp())
    .action((opts: { db?: string; k: number; json?: boolean; model?: string }) => {
      const shipped = loadModelFromOptions(opts.model);
      const { db } = openDbFromOptions(opts);
      try {
        const model = currentModel(db, shipped);
        const repo = new PhotoRepository(db);
        refreshEmbeddings(repo, model);
        const photos = repo.listOkPhotos().filter((p) => p.content_hash);
        const embeddings = repo.allEmbeddings(model.head.version);
        const usable = photos.filter((p) => embeddings.get(p.content_hash!)?.has('identity'));
        const dims = model.head.outDims;
        const data = new Float32Array(usable.length * dims);
        usable.forEach((p, i) =>
          data.set(embeddings.get(p.content_hash!)!.get('identity')!, i * dims),
        );
        const lists = findNeighbors({ dims, count: usable.length, data }, opts.k);
        const result: NeighborDto[] = usable.map((p, i) => ({
          path: p.path,
          neighbors: lists[i].map((n) => ({
            path: usable[n.index].path,
            distance: round(n.distance),
          })),
        }));
        printResult(result, Boolean(opts.json), () =>
          result
            .map(
              (r) =>
                `${r.path}\n${r.neighbors.map((n) => `  ${n.distance.toFixed(3)}  ${n.path}`).join('\n')}\n`,
            )
            .join(''),
        );
      } finally {
        db.close();
      }
    });

  program
    .command('problems')
    .description('list every file that could not be read, with the reason')
    .option('--db <file>', 'database file')
    .option('--json', 'print JSON')
    .action((opts: { db?: string; json?: boolean }) => {
      const { db } = openDbFromOptions(opts);
      try {
        const problems: ProblemDto[] = new PhotoRepository(db).listProblems().map((p) => ({
          path: p.path,
          code: p.problem_code as ProblemCode,
          reason: p.problem_detail ?? PROBLEM_CATALOG[p.problem_code as ProblemCode],
        }));
        printResult({ problems }, Boolean(opts.json), () =>
          problems.length
            ? problems.map((p) => `${p.path}: ${p.reason}\n`).join('')
            : 'No problems.\n',
        );
      } finally {
        db.close();
      }
    });
}

function parseDistance(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 2) {
    throw new InvalidArgumentError(
      `distance must be a number above 0 and at most 2 (unit vectors), got "${value}".`,
    );
  }
  return n;
}

function round(n: number): number {
  return Math.round(n * 1e4) / 1e4;
}

function formatGroups(groups: GroupDto[]): string {
  if (!groups.length) return 'No groups.\n';
  return groups
    .map(
      (g, i) =>
        `#${i + 1} ${g.kind}${g.label ? ` (${g.label})` : ''}, ${g.photos.length} photos\n` +
        g.photos.map((p) => `  ${p.distance.toFixed(3)}  ${p.path}`).join('\n') +
        '\n',
    )
    .join('');
}
