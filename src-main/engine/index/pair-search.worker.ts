/**
 * Worker thread of the parallel pair search: ranks index cells and searches pairs for the photo
 * ranges the pool sends, over vectors and an index store shared with the main thread (no copy).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { rankPhotos, searchPairs, type NeighborIndex } from '../../core/neighbor-index';
import { listViews, type VectorSet } from '../../core/vector-set';
import type { PairSearchInit, PairSearchTask } from './pair-search';

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
const views = listViews(set);
let index: NeighborIndex | null = null;

parentPort!.on('message', (task: PairSearchTask) => {
  if (task.type === 'rank') {
    const cells = rankPhotos(set, init.store, init.slot, task.from, task.to);
    parentPort!.postMessage({ id: task.id, cells }, [cells.buffer as ArrayBuffer]);
    return;
  }
  if (task.type === 'index') {
    index = { store: init.store, start: task.start, members: task.members };
    parentPort!.postMessage({ id: task.id });
    return;
  }
  const { from, to, cells, radius } = task;
  const chunk = searchPairs(set, views, index!, init.slot, cells, from, to, radius);
  const transfer = [chunk.a.buffer as ArrayBuffer, chunk.b.buffer as ArrayBuffer];
  parentPort!.postMessage({ id: task.id, ...chunk }, transfer);
});
