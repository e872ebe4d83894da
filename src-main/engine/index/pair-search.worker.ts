/**
 * Worker thread of the parallel pair search: ranks index cells and searches pairs for the ranges
 * of photos the pool sends, over vectors shared with the main thread (no copy).
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  describePhotos,
  searchPairs,
  type IndexPlan,
  type NeighborIndex,
  type VectorSet,
} from '../../core/neighbors';
import type { PairSearchTask, PairSearchInit } from './pair-search';

const init = workerData as PairSearchInit;
const set: VectorSet = {
  dims: init.dims,
  count: init.count,
  data: new Float32Array(init.data),
  views:
    init.viewPhoto && init.viewData
      ? { photo: new Int32Array(init.viewPhoto), data: new Float32Array(init.viewData) }
      : undefined,
};
const plan: IndexPlan = init.plan;
let index: NeighborIndex | null = null;

parentPort!.on('message', (task: PairSearchTask) => {
  if (task.type === 'rank') {
    const { cells, sketch } = describePhotos(set, plan, task.from, task.to);
    parentPort!.postMessage({ id: task.id, cells, sketch }, [
      cells.buffer as ArrayBuffer,
      sketch.buffer as ArrayBuffer,
    ]);
    return;
  }
  if (task.type === 'index') {
    index = { ...plan, start: task.start, members: task.members, sketches: task.sketches };
    parentPort!.postMessage({ id: task.id });
    return;
  }
  const chunk = searchPairs(set, index!, task.cells, task.from, task.to, task.radius);
  const a = chunk.a.slice();
  const b = chunk.b.slice();
  parentPort!.postMessage({ id: task.id, a, b, length: chunk.length }, [
    a.buffer as ArrayBuffer,
    b.buffer as ArrayBuffer,
  ]);
});
