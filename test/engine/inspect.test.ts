import { describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { z } from 'zod';
import { backoff, defineJob } from '../../src/index.js';
import { harness } from '../support/harness.js';

/** What an inspector saw of one actor: the states of its snapshots and the events it took. */
function seenBy(events: InspectionEvent[], actorId: string) {
  const mine = events.filter((e) => (e.actorRef as { id?: string }).id === actorId);
  return {
    registered: mine.some((e) => e.type === '@xstate.actor'),
    states: mine.filter((e) => e.type === '@xstate.snapshot').map((e) => String((e.snapshot as { value?: unknown }).value)),
    events: mine.filter((e) => e.type === '@xstate.event').map((e) => (e as { event: { type: string } }).event.type)
      .filter((type) => type !== 'xstate.init'),
  };
}

describe('inspect', () => {
  it('shows the supervisor and every job as live actors, successes included, from lease to rest', async () => {
    const recorded: InspectionEvent[] = [];
    const job = defineJob({
      name: 'watched',
      input: z.object({ fail: z.boolean() }),
      maxRetries: 1,
      backoff: backoff.constant(1),
      handler: async ({ fail }, ctx) => {
        if (fail && ctx.attempt === 1) throw new Error('first try');
      },
    });
    const { dispatcher, reached, errors } = harness({ inspect: (event) => recorded.push(event) });
    dispatcher.register(job);
    await dispatcher.start();
    const ok = await dispatcher.enqueue(job, { fail: false });
    const retried = await dispatcher.enqueue(job, { fail: true });
    await reached(ok.id, 'completed');
    await reached(retried.id, 'completed');
    await dispatcher.stop();
    expect(errors).toEqual([]);

    expect(seenBy(recorded, 'supervisor').registered).toBe(true);
    const success = seenBy(recorded, `job:${ok.id}`);
    expect(success.registered).toBe(true);
    expect(success.events).toEqual(['LEASE', 'SUCCEED']);
    expect(success.states.slice(-2)).toEqual(['running', 'completed']);
    const retry = seenBy(recorded, `job:${retried.id}`);
    expect(retry.events).toEqual(['LEASE', 'FAIL', 'xstate.after.backoff.job.retrying', 'LEASE', 'SUCCEED']);
    expect(retry.states.filter((s, i, all) => s !== all[i - 1])).toEqual(['pending', 'running', 'retrying', 'pending', 'running', 'completed']);
  });
});
