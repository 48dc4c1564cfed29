import { describe, expect, it } from 'vitest';
import { JOB_STATES, LifecycleError, type StateCounts } from '../../src/index.js';
import { ThroughputSampler } from '../../src/admin/throughput.js';

const counts = (completed: number, dlq = 0): StateCounts => ({ ...(Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as StateCounts), completed, dlq });

describe('throughput sampled from the store counts', () => {
  it('adds each rise to the minute it fell in, never a fall, and knows nothing before its first sample', async () => {
    let now = Date.UTC(2030, 0, 1, 12, 0, 10);
    const answers = [counts(100, 5), counts(130, 6), counts(90, 6), counts(95, 8)];
    const sampler = new ThroughputSampler(async () => answers.shift()!, 5000, () => undefined, () => now);
    await sampler.sample(); // 12:00:10, the base
    now += 30_000;
    await sampler.sample(); // 12:00:40: +30 completed, +1 dead
    now += 30_000;
    await sampler.sample(); // 12:01:10: retention deleted 40 meanwhile: a fall, counted as nothing
    now += 30_000;
    await sampler.sample(); // 12:01:40: +5, +2
    const read = sampler.read();
    expect(read.since).toEqual(new Date(Date.UTC(2030, 0, 1, 12, 0, 10)));
    expect(read.perMinute).toEqual([
      { minute: new Date(Date.UTC(2030, 0, 1, 12, 0)), completed: 30, dead: 1 },
      { minute: new Date(Date.UTC(2030, 0, 1, 12, 1)), completed: 5, dead: 2 },
    ]);
  });

  it('stops sampling once the dispatcher has stopped', async () => {
    let calls = 0;
    const sampler = new ThroughputSampler(
      async () => {
        calls++;
        throw new LifecycleError('the dispatcher has stopped');
      },
      100,
      () => undefined,
    );
    sampler.start();
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(calls).toBe(1);
    expect(sampler.read()).toEqual({ sampleEveryMs: 100, since: null, perMinute: [] });
  });
});
