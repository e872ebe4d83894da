/** `doppel scan <folder>...`: scan, embed, cache and group; prints a summary. */
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { PROVIDERS, type Provider, type ScanSummary } from '../../contract/types';
import { scanLibrary, type ScanProgress } from '../../engine/scan/scan.service';
import { openDbFromOptions, parseChoice, printResult } from '../context';
import { loadModelFromOptions } from '../model-option';
import { currentModel } from '../../engine/learn/head.service';

interface ScanOptions {
  db?: string;
  provider: Provider;
  exclude: string[];
  json?: boolean;
  model?: string;
}

export function register(program: Command): void {
  program
    .command('scan')
    .description('scan folders for photos, embed them and group duplicates')
    .argument('<folders...>', 'folders to scan (recursively)')
    .option('--db <file>', 'database file (default: the per-user app data folder)')
    .addOption(
      new Option('--provider <name>', 'execution provider: auto, cpu, cuda or dml')
        .default('auto')
        .argParser(parseChoice('--provider', PROVIDERS)),
    )
    .option('--exclude <glob>', 'skip paths matching this glob (repeatable)', collect, [])
    .option('--json', 'print the summary as JSON')
    .addOption(new Option('--model <dir>', 'folder holding the model card').hideHelp())
    .action(async (folders: string[], opts: ScanOptions) => {
      const shipped = loadModelFromOptions(opts.model);
      const { db } = openDbFromOptions(opts, { create: true });
      const model = currentModel(db, shipped);
      const progress = createProgress();
      try {
        const summary = await scanLibrary(db, folders, {
          exclude: opts.exclude,
          provider: opts.provider,
          model,
          onProgress: progress.update,
        });
        progress.stop();
        printResult(summary, Boolean(opts.json), () => formatSummary(summary));
      } finally {
        progress.stop();
        db.close();
      }
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** A progress bar with count, rate and ETA on a terminal; nothing when stderr is not a TTY. */
function createProgress(): { update: (p: ScanProgress) => void; stop: () => void } {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      format: '{phase} |{bar}| {value}/{total} files  {rate}/s  ETA {eta_formatted}',
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let stopped = false;
  const t0 = Date.now();
  return {
    update: (p) => {
      if (stopped || p.total === 0) return;
      const rate = (p.done / Math.max(0.001, (Date.now() - t0) / 1000)).toFixed(1);
      if (!started) {
        bar.start(p.total, p.done, { phase: p.phase, rate });
        started = true;
      }
      bar.setTotal(p.total);
      bar.update(p.done, { phase: p.phase.padEnd(9), rate });
    },
    stop: () => {
      if (started && !stopped) bar.stop();
      stopped = true;
    },
  };
}

function formatSummary(s: ScanSummary): string {
  const lines = [
    `Photos: ${s.photos} (${s.embedded} embedded, ${s.reused} reused from identical files, ${s.unchanged} unchanged)`,
    `Groups: ${s.groups.exact} exact, ${s.groups['near-duplicate']} near-duplicate, ${s.groups.similar} similar`,
    `Skipped: ${s.skipped}${s.skipped ? ' (see `doppel problems`)' : ''}`,
    ...(s.ignored
      ? [`Ignored: ${s.ignored} files that are not images (videos, documents...)`]
      : []),
    ...s.problems.slice(0, 20).map((p) => `  ${p.path}: ${p.reason}`),
    ...(s.problems.length > 20 ? [`  ... and ${s.problems.length - 20} more`] : []),
    `Provider: ${s.provider}`,
    `Time: ${s.seconds.toFixed(1)} s`,
  ];
  return lines.join('\n') + '\n';
}
