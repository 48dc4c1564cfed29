import { describe, it } from 'vitest';
import { memoryStore } from '../../../src/index.js';
import { checkStoreAgainstChart } from './store-properties.js';

describe('memory store: random operations against the job chart', () => {
  it('keeps every job where the chart puts it, through enqueue, lease, writes, reaps, stale writers and clock jumps', async () => {
    await checkStoreAgainstChart(
      {
        // The memory store reads the clock it is given: a jump moves that clock.
        shiftsStoredTimes: false,
        fresh: async () => {
          let clock = Date.UTC(2030, 0, 1);
          const store = memoryStore({ now: () => clock });
          await store.open();
          return { store, now: () => clock, jump: async (ms) => void (clock += ms) };
        },
      },
      { numRuns: 200, maxOps: 40 },
    );
  });
});
