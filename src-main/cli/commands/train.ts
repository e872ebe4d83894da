/** `doppel train`: fine-tune the head on the labels, off the main thread, and adopt it if it is better. */
import { Command, Option } from 'commander';
import type { LearnProgress } from '../../engine/learn/head.service';
import { runLearnJob } from '../../engine/learn/learn.job';
import type { TrainReport } from '../../engine/learn/train.service';
import { openDbFromOptions, printResult } from '../context';
import { loadModelFromOptions } from '../model-option';

export function register(program: Command): void {
  program
    .command('train')
    .description(
      'retrain the embedding head on your labels; adopted only if it ranks held-out labels better',
    )
    .option('--db <file>', 'database file')
    .option('--json', 'print JSON')
    .addOption(new Option('--model <dir>').hideHelp())
    .action(async (opts: { db?: string; json?: boolean; model?: string }) => {
      const shipped = loadModelFromOptions(opts.model);
      // Open here first so a bad --db fails fast, and the schema is migrated before the worker starts.
      const { db, file } = openDbFromOptions(opts);
      db.close();
      const report = await runLearnJob(
        { kind: 'train' },
        { dbFile: file, modelDir: shipped.dir, onProgress: progressPrinter() },
      );
      printResult(report, Boolean(opts.json), () => formatReport(report));
    });
}

/** Progress lines on stderr: one per phase change, and every report while training or embedding. */
export function progressPrinter(): (p: LearnProgress) => void {
  let last = '';
  return (p) => {
    if (p.phase === 'done') return;
    const line = p.total > 1 ? `${p.phase} ${p.done}/${p.total}` : p.phase;
    if (line === last) return;
    last = line;
    process.stderr.write(`doppel: ${line}\n`);
  };
}

function formatReport(r: TrainReport): string {
  const lines: string[] = [];
  const l = r.labels;
  lines.push(
    `Labels: ${l.total} (${l.distinct} distinct; ${l.trained} trained on, ${l.heldOut} held out` +
      `${l.skipped ? `, ${l.skipped} without cached features` : ''}` +
      `${l.contradicting ? `, ${l.contradicting} contradicting` : ''})`,
  );
  if (r.heldOut)
    lines.push(
      `Held-out accuracy: ${r.heldOut.before.toFixed(2)} -> ${r.heldOut.after.toFixed(2)}`,
    );
  if (r.generic) {
    lines.push(
      `Generic accuracy: ${r.generic.before.toFixed(2)} -> ${r.generic.after.toFixed(2)} (shipped head ${r.generic.shipped.toFixed(2)})`,
    );
  }
  lines.push(
    r.adopted
      ? `Adopted as head version ${r.version}; ${r.embedded} embeddings recomputed and groups rebuilt.`
      : `Not adopted: ${r.reason}. Head version ${r.version} stays current.`,
  );
  lines.push(`Time: ${r.seconds.total.toFixed(1)} s (training ${r.seconds.training.toFixed(1)} s)`);
  return lines.join('\n') + '\n';
}
