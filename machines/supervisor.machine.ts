import { assign, setup } from 'xstate';

/** What the supervisor asks the store for: how many jobs, and room per capped queue. */
export interface LeaseRoom {
  limit: number;
  /** Free slots of each queue that has its own concurrency; a queue absent here is bounded only by `limit`. */
  queueRoom: Record<string, number>;
}

/** What a lease brought back (LEASED); the supervisor counts the jobs by queue and hands them to `startJobs`. */
export interface LeaseOutcome {
  jobs: ReadonlyArray<{ queue: string }>;
  /** Milliseconds until the earliest waiting job is due, when the lease came back short. */
  sleepMs: number;
}

export interface SupervisorContext {
  /** Jobs this worker may hold: running or prefetched. */
  concurrency: number;
  queueLimits: Record<string, number>;
  /** Jobs held: leased, and not given back until their handler is done (or they leave unstarted). */
  inFlight: number;
  queueInFlight: Record<string, number>;
  /** The store is failing writes and they are being tried again: lease nothing until they land. */
  writesStalled: boolean;
  /** The room the lease in flight (or the last one) asked for. */
  asked: number;
  /** How long to sleep in `waiting` before leasing again. */
  sleepMs: number;
  /** Something may be due that the last lease did not see: lease again before sleeping. */
  lookAgain: boolean;
  /** How long to wait after a failed lease before trying again. */
  retryMs: number;
  graceMs: number;
  stopRequested: boolean;
}

export interface SupervisorInput {
  concurrency: number;
  queueLimits?: Record<string, number>;
  retryMs?: number;
}

export type SupervisorEvent =
  | { type: 'START' }
  /** A job was enqueued or announced; `inMs` is how long until it is due (0 or less: now). */
  | { type: 'WAKE'; inMs: number }
  /** Jobs' handlers are done (or they left without starting): their slots are free. */
  | { type: 'SLOTS_FREED'; jobs: ReadonlyArray<{ queue: string }> }
  /** A batch of outcome writes failed and is being tried again (true), or it landed or was given up on (false). */
  | { type: 'WRITES_STALLED'; stalled: boolean }
  | { type: 'STOP'; graceMs: number }
  /** The lease `leaseJobs` started came back with jobs (maybe none). */
  | { type: 'LEASED'; output: LeaseOutcome }
  /** The lease `leaseJobs` started failed. */
  | { type: 'LEASE_FAILED'; error: unknown }
  /** An enqueue took the room `offerRoom` offered and leased these jobs to this worker. */
  | { type: 'HANDED'; jobs: ReadonlyArray<{ queue: string }> };

/**
 * Room to lease: `concurrency` (the engine's concurrency plus prefetch) less
 * the jobs held. None while writes are failing: leasing more would only pile
 * up jobs that cannot be recorded. (The runner, not the supervisor, bounds
 * what a crash re-runs: no job starts while too many outcomes are unstored.)
 */
function roomLeft(context: SupervisorContext): number {
  if (context.writesStalled) return 0;
  return Math.max(0, context.concurrency - context.inFlight);
}

function roomOf(context: SupervisorContext): LeaseRoom {
  const queueRoom: Record<string, number> = {};
  for (const queue in context.queueLimits) {
    queueRoom[queue] = Math.max(0, context.queueLimits[queue]! - (context.queueInFlight[queue] ?? 0));
  }
  return { limit: roomLeft(context), queueRoom };
}

function countQueues(
  counts: Record<string, number>,
  jobs: ReadonlyArray<{ queue: string }>,
  limits: Record<string, number>,
  sign: 1 | -1,
): Record<string, number> {
  let next = counts;
  for (const { queue } of jobs) {
    if (!(queue in limits)) continue;
    if (next === counts) next = { ...counts };
    next[queue] = (next[queue] ?? 0) + sign;
  }
  return next;
}

/** The counts once `jobs` more are held: what a lease's or an enqueue's jobs add. */
function holding(context: SupervisorContext, jobs: ReadonlyArray<{ queue: string }>): Pick<SupervisorContext, 'inFlight' | 'queueInFlight'> {
  return { inFlight: context.inFlight + jobs.length, queueInFlight: countQueues(context.queueInFlight, jobs, context.queueLimits, 1) };
}

/** No room left once `jobs` more are held (or writes are stalled). */
const fullWith = (context: SupervisorContext, jobs: ReadonlyArray<unknown>) =>
  context.writesStalled || context.concurrency - (context.inFlight + jobs.length) <= 0;

/** What takes jobs an enqueue handed over: counted as held, then started. */
const TAKE_HANDED = [
  'countHanded',
  { type: 'startJobs', params: ({ event }: { event: SupervisorEvent }) => ({ jobs: event.type === 'HANDED' ? event.jobs : [] }) },
] as const;

export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
    input: {} as SupervisorInput,
  },
  actions: {
    /**
     * Supplied by the engine: lease up to the room given, and answer with
     * LEASED or LEASE_FAILED. An action, not an invoked promise actor: that
     * was a child actor (and an AbortController) per lease, a fifth of a
     * job's time on the memory store.
     */
    leaseJobs: (_, _params: LeaseRoom) => {},
    /** Supplied by the engine: start a job actor for each leased job. */
    startJobs: (_, _params: { jobs: ReadonlyArray<{ queue: string }> }) => {},
    /** Supplied by the engine: note when the sleep ends, so an earlier job can cut it short. */
    armWake: () => {},
    /**
     * Supplied by the engine: while waiting, offer the room to this process's
     * next enqueue, which may lease its job in its own write (HANDED). The
     * next `leaseJobs` takes the offer back first, answering with any job
     * that came of it and had not been handed yet.
     */
    offerRoom: (_, _params: LeaseRoom) => {},
    /** Supplied by the engine: report a lease that failed. */
    reportLeaseError: (_, _params: { error: unknown }) => {},
    /** Supplied by the engine: give every running job back to the store (ABANDON). */
    abandonAll: () => {},
    /** Supplied by the engine: the supervisor has stopped. */
    stopped: () => {},
    freeSlots: assign(({ context, event }) => {
      if (event.type !== 'SLOTS_FREED') return {};
      return {
        inFlight: context.inFlight - event.jobs.length,
        queueInFlight: countQueues(context.queueInFlight, event.jobs, context.queueLimits, -1),
      };
    }),
    noteStall: assign({
      writesStalled: ({ context, event }) => (event.type === 'WRITES_STALLED' ? event.stalled : context.writesStalled),
    }),
    requestStop: assign({
      stopRequested: true,
      graceMs: ({ event, context }) => (event.type === 'STOP' ? event.graceMs : context.graceMs),
    }),
    lookAgain: assign({ lookAgain: true }),
    countHanded: assign(({ context, event }) => (event.type === 'HANDED' ? holding(context, event.jobs) : {})),
    countLeased: assign(({ context, event }) => {
      if (event.type !== 'LEASED') return {};
      const { jobs, sleepMs } = event.output;
      const { asked } = context;
      return {
        ...holding(context, jobs),
        sleepMs,
        // A full batch means more may be waiting.
        lookAgain: context.lookAgain || (asked > 0 && jobs.length >= asked),
      };
    }),
  },
  guards: {
    stopRequested: ({ context }) => context.stopRequested,
    full: ({ context }) => roomLeft(context) === 0,
    fullOnceLeased: ({ context, event }) => event.type === 'LEASED' && !context.stopRequested && fullWith(context, event.output.jobs),
    fullOnceHanded: ({ context, event }) => event.type === 'HANDED' && fullWith(context, event.jobs),
    roomOnceFreed: ({ context, event }) =>
      event.type === 'SLOTS_FREED' && !context.writesStalled && context.concurrency - (context.inFlight - event.jobs.length) > 0,
    lookAgain: ({ context }) => context.lookAgain,
    dueNow: ({ event }) => event.type === 'WAKE' && event.inMs <= 0,
    idle: ({ context }) => context.inFlight === 0,
  },
  delays: {
    sleep: ({ context }) => context.sleepMs,
    retry: ({ context }) => context.retryMs,
    grace: ({ context }) => context.graceMs,
  },
}).createMachine({
  id: 'supervisor',
  initial: 'idle',
  // Kept in every state: a stall that begins before the start or while draining still holds leasing back.
  on: { WRITES_STALLED: { actions: 'noteStall' } },
  context: ({ input }) => ({
    concurrency: input.concurrency,
    queueLimits: input.queueLimits ?? {},
    inFlight: 0,
    queueInFlight: {},
    writesStalled: false,
    asked: 0,
    sleepMs: 0,
    lookAgain: false,
    retryMs: input.retryMs ?? 1000,
    graceMs: 0,
    stopRequested: false,
  }),
  states: {
    idle: {
      on: {
        START: 'running',
        STOP: 'stopped',
      },
    },
    running: {
      initial: 'leasing',
      on: {
        // Room may have come back, unless writes are stalled: deciding tells.
        // Straight to a lease when the freed slots leave room (every job's path, so one step, not
        // two); deciding tells what else to do when writes are stalled or there is still no room.
        SLOTS_FREED: [
          { guard: 'roomOnceFreed', actions: 'freeSlots', target: '.leasing' },
          { actions: ['freeSlots', 'lookAgain'], target: '.deciding' },
        ],
        STOP: { target: 'draining', actions: 'requestStop' },
        // Offered only with room, so counted and started wherever it lands; `waiting` goes to full if it is.
        HANDED: { actions: TAKE_HANDED },
      },
      states: {
        leasing: {
          entry: [
            assign({ lookAgain: false, asked: ({ context }) => roomLeft(context) }),
            { type: 'leaseJobs', params: ({ context }) => roomOf(context) },
          ],
          on: {
            // Straight to full when the batch leaves no room (every busy cycle, so one step, not
            // two); deciding tells what else to do.
            LEASED: [
              {
                guard: 'fullOnceLeased',
                target: 'full',
                actions: ['countLeased', { type: 'startJobs', params: ({ event }) => ({ jobs: event.output.jobs }) }],
              },
              { target: 'deciding', actions: ['countLeased', { type: 'startJobs', params: ({ event }) => ({ jobs: event.output.jobs }) }] },
            ],
            LEASE_FAILED: {
              // Sleep before trying again, rather than hammering a store that is down.
              target: 'deciding',
              actions: [
                { type: 'reportLeaseError', params: ({ event }) => ({ error: event.error }) },
                assign({ sleepMs: ({ context }) => context.retryMs, lookAgain: false }),
              ],
            },
            // A lease is in flight: count the change and look again once it lands,
            // so its jobs are started and drained rather than lost.
            SLOTS_FREED: { actions: ['freeSlots', 'lookAgain'] },
            WAKE: { actions: 'lookAgain' },
            STOP: { actions: 'requestStop' },
          },
        },
        deciding: {
          always: [
            { guard: 'stopRequested', target: '#supervisor.draining' },
            { guard: 'full', target: 'full' },
            { guard: 'lookAgain', target: 'leasing' },
            { target: 'waiting' },
          ],
        },
        full: {
          on: {
            WAKE: {},
            // Writes landed: lease into the room there is, if any.
            WRITES_STALLED: { actions: ['noteStall', 'lookAgain'], target: 'deciding' },
          },
        },
        waiting: {
          entry: ['armWake', { type: 'offerRoom', params: ({ context }) => roomOf(context) }],
          after: { sleep: 'leasing' },
          on: {
            // Else `running` takes it and the sleep goes on (a job due later is still due then).
            HANDED: { guard: 'fullOnceHanded', target: 'full', actions: TAKE_HANDED },
            WAKE: [
              { guard: 'dueNow', target: 'leasing' },
              {
                target: 'waiting',
                reenter: true,
                actions: assign({ sleepMs: ({ event }) => (event.type === 'WAKE' ? event.inMs : 0) }),
              },
            ],
          },
        },
      },
    },
    draining: {
      always: { guard: 'idle', target: 'stopped' },
      after: { grace: { actions: 'abandonAll' } },
      on: { SLOTS_FREED: { actions: 'freeSlots' } },
    },
    stopped: {
      type: 'final',
      entry: 'stopped',
    },
  },
});

export type SupervisorMachine = typeof supervisorMachine;
