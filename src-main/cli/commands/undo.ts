/** `doppel undo`: put the files of the latest apply runs back where they were. */
import { Command } from 'commander';
import { AppError } from '../../contract/errors';
import { undoRuns, type UndoReport } from '../../engine/actions/undo.service';
import { openDbFromOptions, parsePositiveInt, printResult } from '../context';
import { formatReconcile, testSeams } from './apply';

interface UndoCliOptions {
  db?: string;
  last?: number;
  all?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('undo')
    .description('put back the files of the latest apply runs (default: the last one)')
    .option('--db <file>', 'database file (default: the per-user app data folder)')
    .option('--last <n>', 'undo the last N runs', parsePositiveInt('--last'))
    .option('--all', 'undo every run')
    .option('--json', 'print the results as JSON')
    .action((opts: UndoCliOptions) => {
      if (opts.last !== undefined && opts.all)
        throw new AppError('OPTIONS_CONFLICT', { a: '--last', b: '--all' });
      const { db } = openDbFromOptions(opts);
      try {
        const report = undoRuns(db, { last: opts.last, all: opts.all, ...testSeams() });
        printResult(report, Boolean(opts.json), () => formatUndo(report));
      } finally {
        db.close();
      }
    });
}

function formatUndo(report: UndoReport): string {
  const lines = formatReconcile(report.reconciled);
  if (report.runs.length === 0) return [...lines, 'Nothing to undo.'].join('\n') + '\n';
  lines.push(`Undoing run${report.runs.length > 1 ? 's' : ''} ${report.runs.join(', ')}:`);
  for (const r of report.results) {
    lines.push(
      r.outcome === 'restored'
        ? `  restored  ${r.path}`
        : `  ${r.outcome.padEnd(8)}  ${r.path}: ${r.reason}`,
    );
  }
  const restored = report.counts.restored ?? 0;
  lines.push(`${restored} of ${report.results.length} files restored.`);
  return lines.join('\n') + '\n';
}
