/** `doppel head`: list the embedding head versions, or go back to one. */
import { Command, Option } from 'commander';
import { AppError } from '../../contract/errors';
import { listHeads, parseHeadVersion, type HeadListing } from '../../engine/learn/head.service';
import { runLearnJob } from '../../engine/learn/learn.job';
import { openDbFromOptions, printResult } from '../context';
import { loadModelFromOptions } from '../model-option';
import { progressPrinter } from './train';

interface HeadOptions {
  db?: string;
  list?: boolean;
  revert?: string;
  json?: boolean;
  model?: string;
}

export function register(program: Command): void {
  program
    .command('head')
    .description('list embedding head versions (--list) or make an earlier one current (--revert)')
    .option('--db <file>', 'database file')
    .option('--list', 'list versions, which one is current, and their metrics (the default)')
    .option('--revert <version>', 'make this version current: a number, or "shipped" (version 1)')
    .option('--json', 'print JSON')
    .addOption(new Option('--model <dir>').hideHelp())
    .action(async (opts: HeadOptions) => {
      if (opts.list && opts.revert !== undefined) {
        throw new AppError('OPTIONS_CONFLICT', { a: '--list', b: '--revert' });
      }
      const shipped = loadModelFromOptions(opts.model);
      const { db, file } = openDbFromOptions(opts);
      let version: number | undefined;
      try {
        if (opts.revert === undefined) {
          const heads = listHeads(db, shipped);
          printResult({ heads }, Boolean(opts.json), () => formatList(heads));
          return;
        }
        version = parseHeadVersion(db, opts.revert);
      } finally {
        db.close();
      }
      const report = await runLearnJob(
        { kind: 'switch-head', version },
        { dbFile: file, modelDir: shipped.dir, onProgress: progressPrinter() },
      );
      printResult(
        report,
        Boolean(opts.json),
        () =>
          `Head version ${report.version} is current (was ${report.previous}); ` +
          `${report.embedded} embeddings recomputed, ${report.groups} groups.\n`,
      );
    });
}

function formatList(heads: HeadListing[]): string {
  return heads
    .map((h) => {
      const mark = h.isCurrent ? '*' : ' ';
      const name = h.kind === 'shipped' ? 'shipped' : `trained ${h.createdAt}`;
      const m = h.metrics;
      const figures = m
        ? `  held-out ${m.heldOut.before.toFixed(2)} -> ${m.heldOut.after.toFixed(2)}` +
          (m.generic
            ? `, generic ${m.generic.before.toFixed(2)} -> ${m.generic.after.toFixed(2)}`
            : '')
        : '';
      const unusable = h.isUsable ? '' : '  (for another model; cannot be used)';
      return `${mark} ${String(h.version).padStart(3)}  ${name}${figures}${unusable}\n`;
    })
    .join('');
}
