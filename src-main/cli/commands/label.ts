/** `doppel label`: tell Doppel which photos match, one triplet or a file at a time. */
import { Command, Option } from 'commander';
import { AppError } from '../../contract/errors';
import type { Db } from '../../engine/db/database';
import { LabelRepository } from '../../engine/learn/label.repository';
import {
  addTriplet,
  exportLabelsToFile,
  importLabelsFromFile,
  markNotDuplicate,
  type LabelChange,
} from '../../engine/learn/labels.service';
import { openDbFromOptions, printResult } from '../context';
import { loadModelFromOptions } from '../model-option';
import { currentModel } from '../../engine/learn/head.service';
import { PhotoRepository } from '../../engine/db/photo.repository';
import { CompanionRepository } from '../../engine/db/companion.repository';
import { regroupFromCache } from '../../engine/scan/grouping.service';

interface LabelOptions {
  db?: string;
  query?: string;
  better?: string;
  worse?: string;
  notDuplicate?: string[];
  import?: string;
  export?: string;
  json?: boolean;
  model?: string;
}

const ACTIONS =
  '--query A --better B --worse C, --not-duplicate A B, --import FILE or --export FILE';

export function register(program: Command): void {
  program
    .command('label')
    .description('label photos: B is a better match for A than C, or A and B are not duplicates')
    .option('--db <file>', 'database file')
    .option('--query <photo>', 'the photo being matched (A)')
    .option('--better <photo>', 'the photo that matches it better (B)')
    .option('--worse <photo>', 'the photo that matches it worse (C)')
    .addOption(new Option('--not-duplicate <photos...>', 'two photos that are not duplicates'))
    .option('--import <file>', 'add labels from a JSON file: [{"query","better","worse"},...]')
    .option('--export <file>', 'write every label and not-duplicate pair to a JSON file')
    .option('--json', 'print JSON')
    .addOption(new Option('--model <dir>').hideHelp())
    .action((opts: LabelOptions) => {
      const action = chooseAction(opts);
      const { db } = openDbFromOptions(opts);
      try {
        const change = runAction(db, action, opts);
        // A pair marked "not a duplicate" takes effect now, not at the next scan.
        if (change.pairs > 0 && action !== 'export') regroup(db, opts.model);
        const repo = new LabelRepository(db);
        const total = { labels: repo.countLabels(), pairs: repo.listNotDuplicates().length };
        const result = {
          action,
          ...(action === 'export' ? { exported: change } : { added: change }),
          total,
        };
        printResult(result, Boolean(opts.json), () =>
          formatChange(action, change, { ...total, fromPairs: labelsFromPairs(repo) }),
        );
      } finally {
        db.close();
      }
    });
}

type Action = 'triplet' | 'not-duplicate' | 'import' | 'export';

/** The one action the options ask for; AppError when none or several are given. */
function chooseAction(opts: LabelOptions): Action {
  const tripletParts = [opts.query, opts.better, opts.worse].filter((v) => v !== undefined).length;
  const asked: [Action, string][] = [];
  if (tripletParts > 0) asked.push(['triplet', '--query']);
  if (opts.notDuplicate) asked.push(['not-duplicate', '--not-duplicate']);
  if (opts.import) asked.push(['import', '--import']);
  if (opts.export) asked.push(['export', '--export']);
  if (asked.length === 0) {
    throw new AppError('BAD_ARGUMENT', {
      name: 'doppel label',
      given: 'no action',
      accepted: ACTIONS,
    });
  }
  if (asked.length > 1) throw new AppError('OPTIONS_CONFLICT', { a: asked[0][1], b: asked[1][1] });
  const [action] = asked[0];
  if (action === 'triplet' && tripletParts !== 3) {
    const missing = ['query', 'better', 'worse'].filter((k) => opts[k as 'query'] === undefined);
    throw new AppError('BAD_ARGUMENT', {
      name: '--query/--better/--worse',
      given: `no --${missing.join(' or --')}`,
      accepted: 'all three photos together',
    });
  }
  if (action === 'not-duplicate' && opts.notDuplicate!.length !== 2) {
    throw new AppError('BAD_ARGUMENT', {
      name: '--not-duplicate',
      given: `${opts.notDuplicate!.length} photo(s)`,
      accepted: 'exactly two photos',
    });
  }
  return action;
}

/**
 * Rebuilds the groups from cached embeddings so new not-duplicate pairs split at once. A cache
 * made by another network (features of another version) is left for the next scan to refresh.
 */
function regroup(db: Db, modelDir: string | undefined): void {
  const model = currentModel(db, loadModelFromOptions(modelDir));
  const cached = db
    .prepare('SELECT 1 FROM features WHERE network_version = ? LIMIT 1')
    .get(model.card.networkVersion);
  if (!cached) return;
  regroupFromCache(new PhotoRepository(db), new CompanionRepository(db), model);
}

function runAction(db: Db, action: Action, opts: LabelOptions): LabelChange {
  switch (action) {
    case 'triplet':
      return addTriplet(db, { query: opts.query!, better: opts.better!, worse: opts.worse! });
    case 'not-duplicate':
      return markNotDuplicate(db, opts.notDuplicate![0], opts.notDuplicate![1]);
    case 'import':
      return importLabelsFromFile(db, opts.import!);
    case 'export':
      return exportLabelsToFile(db, opts.export!);
    default: {
      const unknown: never = action;
      throw new Error(`Unhandled label action: ${String(unknown)}`);
    }
  }
}

/**
 * Labels stored for not-duplicate pairs ("keep these apart", no better match): each pair is also
 * a training label, but people count it once, as a pair.
 */
function labelsFromPairs(repo: LabelRepository): number {
  return repo.listLabels().filter((l) => l.better === null && l.worse !== null).length;
}

function formatChange(
  action: Action,
  change: LabelChange,
  total: { labels: number; pairs: number; fromPairs: number },
): string {
  const stored =
    `${plural(total.labels - total.fromPairs, 'label')} and ` +
    `${plural(total.pairs, 'not-duplicate pair')} stored.`;
  if (action === 'export') {
    return `Exported ${plural(change.labels - total.fromPairs, 'label')} and ${plural(change.pairs, 'not-duplicate pair')}.\n`;
  }
  if (action === 'not-duplicate') {
    const added = change.pairs
      ? 'Marked the two photos as not duplicates.'
      : 'The two photos were already marked as not duplicates.';
    return `${added} ${stored}\n`;
  }
  const changed = change.changed
    ? ` ${change.changed} left out (the photo's content changed since the export).`
    : '';
  const added =
    action === 'import'
      ? `Added ${plural(change.labels, 'label')} and ${plural(change.pairs, 'not-duplicate pair')}.`
      : `Added ${plural(change.labels, 'label')}.`;
  return `${added}${changed} ${stored}\n`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
