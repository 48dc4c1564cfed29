import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { type LeaseOutcome, type LeaseRoom, supervisorMachine } from '../../machines/supervisor.machine.js';

/** A supervisor over a fake backlog of queue names; leases answer on the next microtask. */
function start(options: { concurrency: number; queueLimits?: Record<string, number>; backlog: string[]; sleepMs?: number }) {
  const clock = new SimulatedClock();
  const backlog = [...options.backlog];
  const asked: LeaseRoom[] = [];
  const offered: LeaseRoom[] = [];
  const started: string[] = [];
  let abandoned = 0;
  let stopped = false;
  const lease = (input: LeaseRoom): LeaseOutcome => {
    asked.push(input);
    const taken: Record<string, number> = {};
    const jobs: Array<{ queue: string }> = [];
    for (let i = 0; i < backlog.length && jobs.length < input.limit; ) {
      const queue = backlog[i]!;
      const room = input.queueRoom[queue];
      if (room !== undefined && (taken[queue] ?? 0) >= room) {
        i++;
        continue;
      }
      taken[queue] = (taken[queue] ?? 0) + 1;
      jobs.push({ queue });
      backlog.splice(i, 1);
    }
    return { jobs, sleepMs: options.sleepMs ?? 60_000 };
  };
  const machine = supervisorMachine.provide({
    actions: {
      leaseJobs: ({ self }, room) => {
        const output = lease(room);
        void Promise.resolve().then(() => self.send({ type: 'LEASED', output }));
      },
      startJobs: (_, { jobs }) => void started.push(...jobs.map((j) => j.queue)),
      offerRoom: (_, room) => void offered.push(room),
      abandonAll: () => void abandoned++,
      stopped: () => void (stopped = true),
    },
  });
  const actor = createActor(machine, { input: options, clock }).start();
  const settle = () => new Promise((r) => setTimeout(r, 0));
  return {
    actor,
    clock,
    asked,
    offered,
    started,
    backlog,
    settle,
    abandoned: () => abandoned,
    stopped: () => stopped,
    context: () => actor.getSnapshot().context,
    free: (...queues: string[]) => actor.send({ type: 'SLOTS_FREED', jobs: queues.map((queue) => ({ queue })) }),
    stall: (stalled: boolean) => actor.send({ type: 'WRITES_STALLED', stalled }),
  };
}

describe('supervisor statechart', () => {
  it('leases up to its concurrency and waits for a slot when full', async () => {
    const s = start({ concurrency: 3, backlog: ['a', 'a', 'a', 'a', 'a'] });
    s.actor.send({ type: 'START' });
    await s.settle();
    expect(s.started).toHaveLength(3);
    expect(s.context().inFlight).toBe(3);
    expect(s.actor.getSnapshot().value).toEqual({ running: 'full' });
    s.free('a');
    await s.settle();
    expect(s.started).toHaveLength(4);
    expect(s.asked.at(-1)!.limit).toBe(1);
  });

  it('leases nothing while writes are failing, though slots are free, and leases at once when they land', async () => {
    const s = start({ concurrency: 4, backlog: ['a', 'a'] });
    s.actor.send({ type: 'START' });
    await s.settle();
    expect(s.actor.getSnapshot().value).toEqual({ running: 'waiting' });
    s.stall(true);
    s.free('a');
    s.backlog.push('b', 'b');
    s.actor.send({ type: 'WAKE', inMs: 0 });
    await s.settle();
    expect(s.started).toEqual(['a', 'a']);
    expect(s.actor.getSnapshot().value).toEqual({ running: 'full' });
    const leases = s.asked.length;
    s.stall(false);
    await s.settle();
    expect(s.asked.slice(leases)).toEqual([{ limit: 3, queueRoom: {} }]);
    expect(s.started).toEqual(['a', 'a', 'b', 'b']);
  });

  it('looks again after a lease that filled the room it asked for, when a stall ended meanwhile', async () => {
    const s = start({ concurrency: 4, backlog: ['a', 'a', 'a', 'a', 'a', 'a'] });
    s.actor.send({ type: 'START' });
    // The lease for four is in flight when a stall begins and ends.
    s.stall(true);
    s.stall(false);
    await s.settle();
    await s.settle();
    expect(s.asked.map((a) => a.limit)).toEqual([4]);
    expect(s.started).toHaveLength(4);
    expect(s.actor.getSnapshot().value).toEqual({ running: 'full' });
  });

  it('passes the room left in each capped queue to the lease', async () => {
    const s = start({ concurrency: 5, queueLimits: { mail: 2 }, backlog: ['mail', 'mail', 'mail', 'sms'] });
    s.actor.send({ type: 'START' });
    await s.settle();
    expect(s.asked[0]).toEqual({ limit: 5, queueRoom: { mail: 2 } });
    expect(s.started.sort()).toEqual(['mail', 'mail', 'sms']);
    expect(s.context().queueInFlight).toEqual({ mail: 2 });
    s.free('mail');
    await s.settle();
    expect(s.asked.at(-1)).toEqual({ limit: 3, queueRoom: { mail: 1 } });
    expect(s.started.filter((q) => q === 'mail')).toHaveLength(3);
  });

  it('sleeps until the next due job and wakes early for one due now', async () => {
    const s = start({ concurrency: 2, backlog: [], sleepMs: 5000 });
    s.actor.send({ type: 'START' });
    await s.settle();
    expect(s.actor.getSnapshot().value).toEqual({ running: 'waiting' });
    const leasesBefore = s.asked.length;
    s.clock.increment(4999);
    await s.settle();
    expect(s.asked.length).toBe(leasesBefore);
    s.clock.increment(1);
    await s.settle();
    expect(s.asked.length).toBe(leasesBefore + 1);
    s.backlog.push('x');
    s.actor.send({ type: 'WAKE', inMs: 0 });
    await s.settle();
    expect(s.started).toEqual(['x']);
  });

  it('offers its room to the next enqueue each time it comes to wait, and not while it leases or is full', async () => {
    const s = start({ concurrency: 3, queueLimits: { mail: 1 }, backlog: ['a'] });
    s.actor.send({ type: 'START' });
    // Leasing, the room goes to the lease, not to an offer.
    expect(s.offered).toEqual([]);
    await s.settle();
    expect(s.actor.getSnapshot().value).toEqual({ running: 'waiting' });
    expect(s.offered).toEqual([{ limit: 2, queueRoom: { mail: 1 } }]);
    // A wake-up for later waits again, and offers again.
    s.actor.send({ type: 'WAKE', inMs: 100 });
    expect(s.offered).toHaveLength(2);
    s.backlog.push('b', 'c');
    s.actor.send({ type: 'WAKE', inMs: 0 });
    await s.settle();
    expect(s.actor.getSnapshot().value).toEqual({ running: 'full' });
    expect(s.offered).toHaveLength(2);
  });

  it('starts and counts jobs an enqueue handed over while it waits, without moving its sleep', async () => {
    const s = start({ concurrency: 2, backlog: [], sleepMs: 1000 });
    s.actor.send({ type: 'START' });
    await s.settle();
    const leases = s.asked.length;
    s.clock.increment(600);
    s.actor.send({ type: 'HANDED', jobs: [{ queue: 'a' }] });
    expect(s.started).toEqual(['a']);
    expect(s.context().inFlight).toBe(1);
    expect(s.actor.getSnapshot().value).toEqual({ running: 'waiting' });
    // The job due at the planned wake-up is still looked for then, not 1,000 ms after the hand-over.
    s.clock.increment(400);
    await s.settle();
    expect(s.asked.length).toBe(leases + 1);
    expect(s.asked.at(-1)).toEqual({ limit: 1, queueRoom: {} });
  });

  it('is full once handed jobs fill its room, and leases again only when a slot frees', async () => {
    const s = start({ concurrency: 1, backlog: [], sleepMs: 1000 });
    s.actor.send({ type: 'START' });
    await s.settle();
    const leases = s.asked.length;
    s.actor.send({ type: 'HANDED', jobs: [{ queue: 'a' }] });
    expect(s.actor.getSnapshot().value).toEqual({ running: 'full' });
    s.clock.increment(5000);
    await s.settle();
    expect(s.asked.length).toBe(leases);
    s.free('a');
    await s.settle();
    expect(s.asked.length).toBe(leases + 1);
  });

  it('shortens its sleep for a job due sooner than the planned wake-up', async () => {
    const s = start({ concurrency: 2, backlog: [], sleepMs: 60_000 });
    s.actor.send({ type: 'START' });
    await s.settle();
    s.actor.send({ type: 'WAKE', inMs: 100 });
    expect(s.context().sleepMs).toBe(100);
    const leases = s.asked.length;
    s.clock.increment(100);
    await s.settle();
    expect(s.asked.length).toBe(leases + 1);
  });

  it('looks again after a lease when a wake-up arrived during it', async () => {
    const s = start({ concurrency: 4, backlog: [] });
    s.actor.send({ type: 'START' });
    // The first lease is in flight: a job enqueued now might not have been seen.
    s.backlog.push('late');
    s.actor.send({ type: 'WAKE', inMs: 0 });
    await s.settle();
    await s.settle();
    expect(s.started).toEqual(['late']);
  });

  it('drains on stop: no more leases, stops when the last slot frees', async () => {
    const s = start({ concurrency: 2, backlog: ['a', 'a', 'a'] });
    s.actor.send({ type: 'START' });
    await s.settle();
    s.actor.send({ type: 'STOP', graceMs: 1000 });
    expect(s.actor.getSnapshot().value).toBe('draining');
    s.free('a');
    await s.settle();
    expect(s.started).toHaveLength(2);
    expect(s.stopped()).toBe(false);
    s.free('a');
    expect(s.actor.getSnapshot().value).toBe('stopped');
    expect(s.stopped()).toBe(true);
    expect(s.abandoned()).toBe(0);
  });

  it('abandons what is still running when the grace runs out', async () => {
    const s = start({ concurrency: 2, backlog: ['a', 'a'] });
    s.actor.send({ type: 'START' });
    await s.settle();
    s.actor.send({ type: 'STOP', graceMs: 500 });
    s.clock.increment(499);
    expect(s.abandoned()).toBe(0);
    s.clock.increment(1);
    expect(s.abandoned()).toBe(1);
    s.free('a', 'a');
    expect(s.stopped()).toBe(true);
  });

  it('finishes a lease in flight before draining, so its jobs are not stranded', async () => {
    const s = start({ concurrency: 2, backlog: ['a'] });
    s.actor.send({ type: 'START' });
    s.actor.send({ type: 'STOP', graceMs: 1000 });
    await s.settle();
    expect(s.started).toEqual(['a']);
    expect(s.actor.getSnapshot().value).toBe('draining');
    s.free('a');
    expect(s.stopped()).toBe(true);
  });

  it('drains after a lease in flight that fills the room, rather than waiting in full', async () => {
    const s = start({ concurrency: 1, backlog: ['a', 'a'] });
    s.actor.send({ type: 'START' });
    s.actor.send({ type: 'STOP', graceMs: 1000 });
    await s.settle();
    expect(s.started).toEqual(['a']);
    expect(s.actor.getSnapshot().value).toBe('draining');
    s.free('a');
    expect(s.stopped()).toBe(true);
    expect(s.backlog).toEqual(['a']);
  });
});
