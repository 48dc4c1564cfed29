import { and, assign, setup } from 'xstate';

/**
 * Every state a job can be in; stores hold exactly these names. Written out for
 * the type; a test holds it equal to the chart's own states.
 */
export const JOB_STATES = [
  'pending',
  'running',
  'retrying',
  'completed',
  'failed',
  'dlq',
  'cancelled',
] as const;
export type JobState = (typeof JOB_STATES)[number];

/** An error as it is kept on the job: plain data, so it can be stored. */
export interface JobError {
  name: string;
  message: string;
  stack?: string;
}

export interface JobContext {
  id: string;
  name: string;
  queue: string;
  /** Attempts started so far; LEASE counts one. */
  attempt: number;
  /** At most maxRetries + 1 attempts, as in the Go original. */
  maxRetries: number;
  timeoutMs: number;
  /** Backoff before the next attempt, set by `planRetry` when a retry is chosen. */
  retryDelayMs: number;
  lastError: JobError | null;
  /** When false a job that runs out of attempts rests in `failed` instead of the DLQ. */
  deadLetter: boolean;
}

export type JobInput = Omit<JobContext, 'retryDelayMs' | 'lastError' | 'deadLetter'> &
  Partial<Pick<JobContext, 'lastError' | 'deadLetter'>>;

export type JobEvent =
  | { type: 'LEASE' }
  | { type: 'SUCCEED' }
  | { type: 'FAIL'; error: JobError; retryable: boolean }
  | { type: 'CANCEL' }
  /** The worker gives the job back unfinished (shutdown); the attempt is not counted. */
  | { type: 'ABANDON' }
  /** The lease ran out without a heartbeat: the worker is presumed dead. */
  | { type: 'LEASE_EXPIRED' }
  | { type: 'REPLAY' }
  /**
   * An enqueue with the job's unique key replaces its input, runAt and
   * priority (the store writes them); accepted only where the job has not started.
   */
  | { type: 'REPLACE' }
  /** The handler reports how far it got; the job stays running. */
  | { type: 'PROGRESS'; progress: unknown }
  /** A user moves a waiting job: a new runAt and priority, carried by the event for the store to write. */
  | { type: 'RESCHEDULE'; runAt: number; priority: number };

/** The tags the stores read (see job.rules.ts). */
export type JobTag = 'leasable' | 'leased' | 'rest';

/** Why a running handler's AbortSignal fires. */
export type AbortReason = 'timeout' | 'cancel' | 'shutdown' | 'lease-expired';

export const jobMachine = setup({
  types: {
    context: {} as JobContext,
    events: {} as JobEvent,
    input: {} as JobInput,
    tags: {} as JobTag,
  },
  actions: {
    /** Supplied by the engine: start the handler; it answers with SUCCEED or FAIL. */
    runHandler: () => {},
    /** Supplied by the engine: keep the handler's checked return value with the job. */
    storeResult: () => {},
    /** Supplied by the engine: keep the handler's latest progress with the running job. */
    storeProgress: () => {},
    /** Supplied by the engine: write the event's runAt and priority with the job. */
    storeSchedule: () => {},
    /** Supplied by the engine: abort the running handler's signal. */
    abortHandler: (_, _params: { reason: AbortReason }) => {},
    countAttempt: assign({ attempt: ({ context }) => context.attempt + 1 }),
    uncountAttempt: assign({ attempt: ({ context }) => Math.max(0, context.attempt - 1) }),
    resetAttempts: assign({ attempt: 0, lastError: null, retryDelayMs: 0 }),
    recordError: assign({
      lastError: ({ context, event }) => (event.type === 'FAIL' ? event.error : context.lastError),
    }),
    recordTimeout: assign({
      lastError: ({ context }) => ({
        name: 'TimeoutError',
        message: `attempt ${context.attempt} timed out after ${context.timeoutMs} ms`,
      }),
    }),
    recordLeaseExpired: assign({
      lastError: ({ context }) => ({
        name: 'LeaseExpiredError',
        message: `the lease of attempt ${context.attempt} expired before the worker finished`,
      }),
    }),
    /** Supplied by the engine with the job's backoff strategy; the chart only names it. */
    planRetry: assign({ retryDelayMs: 0 }),
  },
  guards: {
    retriesLeft: ({ context }) => context.attempt <= context.maxRetries,
    retryable: ({ event }) => event.type === 'FAIL' && event.retryable,
    deadLetter: ({ context }) => context.deadLetter,
  },
  delays: {
    timeout: ({ context }) => context.timeoutMs,
    backoff: ({ context }) => context.retryDelayMs,
  },
}).createMachine({
  id: 'job',
  initial: 'pending',
  context: ({ input }) => ({
    lastError: null,
    deadLetter: true,
    ...input,
    retryDelayMs: 0,
  }),
  // Tags are what the stores follow (see job.rules.ts): which states a lease takes jobs
  // from, which hold a lease, and which are at rest (a job there waits for nobody).
  states: {
    pending: {
      tags: ['leasable'],
      on: {
        LEASE: { target: 'running', actions: 'countAttempt' },
        CANCEL: 'cancelled',
        // Unique jobs (onConflict 'replace', debounce): the same job, waiting again with what the last enqueue gave.
        REPLACE: { target: 'pending' },
        RESCHEDULE: { target: 'pending', actions: 'storeSchedule' },
      },
    },
    running: {
      tags: ['leased'],
      entry: 'runHandler',
      after: {
        timeout: [
          {
            guard: 'retriesLeft',
            target: 'retrying',
            actions: [{ type: 'abortHandler', params: { reason: 'timeout' } }, 'recordTimeout', 'planRetry'],
          },
          {
            target: 'failed',
            actions: [{ type: 'abortHandler', params: { reason: 'timeout' } }, 'recordTimeout'],
          },
        ],
      },
      on: {
        SUCCEED: { target: 'completed', actions: 'storeResult' },
        // Targetless: the job stays running, its timeout not re-armed.
        PROGRESS: { actions: 'storeProgress' },
        FAIL: [
          {
            guard: and(['retryable', 'retriesLeft']),
            target: 'retrying',
            actions: ['recordError', 'planRetry'],
          },
          { target: 'failed', actions: 'recordError' },
        ],
        CANCEL: {
          target: 'cancelled',
          actions: { type: 'abortHandler', params: { reason: 'cancel' } },
        },
        ABANDON: {
          target: 'pending',
          actions: [{ type: 'abortHandler', params: { reason: 'shutdown' } }, 'uncountAttempt'],
        },
        LEASE_EXPIRED: [
          {
            guard: 'retriesLeft',
            target: 'pending',
            actions: [{ type: 'abortHandler', params: { reason: 'lease-expired' } }, 'recordLeaseExpired'],
          },
          {
            target: 'failed',
            actions: [{ type: 'abortHandler', params: { reason: 'lease-expired' } }, 'recordLeaseExpired'],
          },
        ],
      },
    },
    retrying: {
      // Due when the backoff is over; a lease applies this edge and LEASE in one write.
      after: { backoff: 'pending' },
      on: {
        CANCEL: 'cancelled',
        RESCHEDULE: { target: 'pending', actions: 'storeSchedule' },
      },
    },
    completed: { type: 'final', tags: ['rest'] },
    failed: {
      tags: ['rest'],
      always: { guard: 'deadLetter', target: 'dlq' },
      on: { REPLAY: { target: 'pending', actions: 'resetAttempts' } },
    },
    dlq: {
      tags: ['rest'],
      on: { REPLAY: { target: 'pending', actions: 'resetAttempts' } },
    },
    cancelled: { type: 'final', tags: ['rest'] },
  },
});

export type JobMachine = typeof jobMachine;
