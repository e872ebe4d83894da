import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findPairsWithin } from '../../src-main/core/neighbors';
import { findPairsWithinParallel } from '../../src-main/engine/index/pair-search';
import { makeSyntheticEmbeddings } from '../bench/grouping.bench';
import { REPO_ROOT } from '../helpers/shared-data';

// Worker threads run compiled JavaScript: the test uses the build in dist/ (npm test builds first).
const WORKER = path.join(REPO_ROOT, 'dist/src-main/engine/index/pair-search.worker.js');

describe('findPairsWithinParallel', () => {
  it('finds the same pairs on worker threads as on one thread', { timeout: 60_000 }, async () => {
    if (!fs.existsSync(WORKER)) {
      console.warn(`skipped: ${WORKER} is missing; run \`npm run build\` first`);
      return;
    }
    const { set } = makeSyntheticEmbeddings(3000, { dims: 32, seed: 4, mirror: true });
    const single = findPairsWithin(set, 0.8, { strategy: 'index' });
    const parallel = await findPairsWithinParallel(set, 0.8, {
      threads: 2,
      strategy: 'index',
      workerFile: WORKER,
    });
    expect(parallel.neighbors.length).toBeGreaterThan(1000);
    expect(Array.from(parallel.offsets)).toEqual(Array.from(single.offsets));
    expect(Array.from(parallel.neighbors)).toEqual(Array.from(single.neighbors));
    expect(Array.from(parallel.distances)).toEqual(Array.from(single.distances));
  });

  it('answers small sets on the calling thread, exactly', async () => {
    const { set } = makeSyntheticEmbeddings(400, { dims: 16, seed: 1 });
    const exact = findPairsWithin(set, 0.8, { strategy: 'exact' });
    const result = await findPairsWithinParallel(set, 0.8, { workerFile: WORKER });
    expect(Array.from(result.neighbors)).toEqual(Array.from(exact.neighbors));
  });
});
