import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob } from '../../src/index.js';
import { harness } from '../support/harness.js';

describe('a busy worker', () => {
  it('lets the event loop run timers between batches, even on a store that answers at once', async () => {
    let done = 0;
    const total = 5000;
    const job = defineJob({ name: 'noop', input: z.object({}), handler: async () => void done++ });
    const { dispatcher } = harness({ concurrency: 50 });
    dispatcher.register(job);
    await dispatcher.enqueueMany(job, Array.from({ length: total }, () => ({})));
    // A timer due at once fires within the first few batches, not after the whole backlog.
    let doneWhenTimerFired = -1;
    setTimeout(() => (doneWhenTimerFired = done), 0);
    await dispatcher.start();
    while ((await dispatcher.counts()).completed < total) await new Promise((r) => setTimeout(r, 10));
    await dispatcher.stop();
    expect(doneWhenTimerFired).toBeGreaterThanOrEqual(0);
    expect(doneWhenTimerFired).toBeLessThan(total / 2);
  });
});
