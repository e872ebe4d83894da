/**
 * The engine host's door to the learning engine (src-main/engine/learn): labels, retraining the
 * head in a worker thread, and head versions with revert.
 */
import type { HeadVersionDto, LabelCountDto, RetrainResultDto } from '../contract/ipc';
import type { Db } from '../engine/db/database';
import { listHeads } from '../engine/learn/head.service';
import { LabelRepository } from '../engine/learn/label.repository';
import { addTriplet } from '../engine/learn/labels.service';
import { runLearnJob } from '../engine/learn/learn.job';
import type { LoadedModel } from '../engine/ml/model-loader';
import type { ReportProgress } from './jobs';

export interface LearnService {
  addLabel(query: string, better: string, worse: string): LabelCountDto;
  countLabels(): LabelCountDto;
  retrain(report: ReportProgress): Promise<RetrainResultDto>;
  listHeads(): HeadVersionDto[];
  revert(version: number): Promise<HeadVersionDto[]>;
}

export interface LearnServiceOptions {
  db: Db;
  dbFile: string;
  modelDir: string;
  /** The shipped model (its head is version 1). */
  shipped: () => LoadedModel;
}

export function createLearnService(options: LearnServiceOptions): LearnService {
  const { db } = options;
  const countLabels = (): LabelCountDto => {
    const labels = new LabelRepository(db).listLabels();
    const explicit = labels.filter((l) => l.source === 'explicit' || l.source === 'import').length;
    return { explicit, implicit: labels.length - explicit };
  };
  const heads = (): HeadVersionDto[] =>
    listHeads(db, options.shipped()).map((h) => ({
      version: h.version,
      createdAt: h.createdAt ?? 'shipped with Doppel',
      active: h.isCurrent,
      heldOutBefore: h.metrics?.heldOut.before ?? null,
      heldOutAfter: h.metrics?.heldOut.after ?? null,
      note: h.kind === 'shipped' ? 'shipped' : h.isUsable ? null : 'made for another model',
    }));
  return {
    addLabel: (query, better, worse) => {
      addTriplet(db, { query, better, worse }, 'explicit');
      return countLabels();
    },
    countLabels,
    retrain: async (report) => {
      const result = await runLearnJob(
        { kind: 'train' },
        {
          dbFile: options.dbFile,
          modelDir: options.modelDir,
          onProgress: (p) => report(p.phase, p.done, p.total),
        },
      );
      return {
        before: result.heldOut?.before ?? 0,
        after: result.heldOut?.after ?? 0,
        adopted: result.adopted,
        version: result.adopted ? result.version : null,
        ...(result.reason ? { reason: result.reason } : {}),
      };
    },
    listHeads: heads,
    revert: async (version) => {
      await runLearnJob(
        { kind: 'switch-head', version },
        { dbFile: options.dbFile, modelDir: options.modelDir },
      );
      return heads();
    },
  };
}
