/**
 * Property-based tests of a store against the reference model of the job
 * chart: fast-check draws random sequences of enqueue, lease, succeed, fail,
 * timeout, abandon, cancel, reap, replay, stale writes and clock jumps; each
 * is applied to the store as the engine would (a chart-computed
 * compare-and-set) and to the model, and after every step the whole store is
 * read back and compared.
 *
 * Time: decisions that depend on it (is a job due, has a lease run out) use
 * steps of whole hours, and clock jumps add a few seconds to those hours, so
 * no stored time is ever within half an hour of "now" unless it is exactly
 * "now". The real time a run takes therefore never flips a decision, and the
 * durable stores, whose clocks cannot be set, behave as deterministically as
 * the memory store with its injected clock.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { jobRules } from '../../../machines/job.rules.js';
import type { JobState, NewJob, Store, StoredJob, TransitionWrite } from '../../../src/index.js';
import { AFTER_BACKOFF, AFTER_TIMEOUT, CHART_STATES, type ChartEvent, type ChartJob, chartMoves, initialJob, lease, step } from './chart-model.js';

const HOUR = 3_600_000;
const SECOND = 1000;
/** How far a store's deadline may stray from the test's clock (Postgres reads its own). */
const CLOCK_SLACK_MS = 5000;

export interface PropertyTarget {
  store: Store;
  /** Moves the store's time forward by `ms`. */
  jump(ms: number): Promise<void>;
  /** The time as the store reads it. */
  now(): number;
}

export interface PropertyStore {
  /** An empty, open store for one run. */
  fresh(): Promise<PropertyTarget>;
  /**
   * True when a jump moves every stored time back instead of the store's
   * clock forward (a durable store reads a clock the test cannot set); to
   * every decision a store makes the two are the same.
   */
  shiftsStoredTimes: boolean;
}

type Op =
  | { op: 'enqueue'; jobs: Array<{ priority: number; queue: string; runAtHours: number; maxRetries: number; deadLetter: boolean; keyed: boolean }> }
  | { op: 'replace'; pick: number; priority: number; runAtHours: number }
  | { op: 'lease'; limit: number; roomA: number | null; leaseHours: number }
  | { op: 'succeed' | 'abandon' | 'cancel' | 'replay'; pick: number }
  | { op: 'fail'; pick: number; retryable: boolean; delayHours: number }
  | { op: 'timeout'; pick: number; delayHours: number }
  | { op: 'reap'; limit: number }
  | { op: 'jump'; hours: number; seconds: number }
  | { op: 'stale'; pick: number; back: number; pastLease: boolean }
  | { op: 'pause'; queue: string; paused: boolean };

const pick = fc.nat({ max: 1000 });

export const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('enqueue' as const),
      jobs: fc.array(
        fc.record({
          priority: fc.integer({ min: 0, max: 2 }),
          queue: fc.constantFrom('a', 'b'),
          runAtHours: fc.integer({ min: -1, max: 2 }),
          maxRetries: fc.integer({ min: 0, max: 2 }),
          deadLetter: fc.boolean(),
          keyed: fc.boolean(),
        }),
        { minLength: 1, maxLength: 3 },
      ),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('lease' as const),
      limit: fc.integer({ min: 0, max: 4 }),
      roomA: fc.option(fc.integer({ min: 0, max: 2 }), { nil: null }),
      leaseHours: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('succeed' as const), pick }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('fail' as const), pick, retryable: fc.boolean(), delayHours: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('timeout' as const), pick, delayHours: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('abandon' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('cancel' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('replay' as const), pick }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('replace' as const), pick, priority: fc.integer({ min: 0, max: 2 }), runAtHours: fc.integer({ min: -1, max: 2 }) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('reap' as const), limit: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('jump' as const), hours: fc.integer({ min: 0, max: 3 }), seconds: fc.integer({ min: 1, max: 30 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('stale' as const), pick, back: fc.nat({ max: 10 }), pastLease: fc.boolean() }) },
  // A paused queue is no state of the chart: its jobs stay where they are, and no lease takes them.
  { weight: 1, arbitrary: fc.record({ op: fc.constant('pause' as const), queue: fc.constantFrom('a', 'b'), paused: fc.boolean() }) },
);

interface ModelJob extends ChartJob {
  id: string;
  seq: number;
  queue: string;
  priority: number;
  runAt: number;
  token: string | null;
  leaseExpiresAt: number | null;
  /** The unique key it was enqueued with, if any (one of its own: keys never collide on enqueue). */
  key?: string;
  /** Every (state, lease) the job was stored with, oldest first: the views a stale writer may still hold. */
  views: Array<{ value: JobState; token: string | null }>;
}

const MOVES = chartMoves();
/** The chart's resting states: a holder there (with no keepFor) frees its key. */
const CHART_RESTING: readonly string[] = jobRules.rest;

/** One run: a store, the model beside it, and the last state each job was seen in. */
class Run {
  private readonly jobs: ModelJob[] = [];
  private readonly byId = new Map<string, ModelJob>();
  private readonly seen = new Map<string, JobState>();
  private readonly tokens = new Set<string>();
  /** Unique key -> the job holding it. */
  private readonly holders = new Map<string, ModelJob>();
  private readonly paused = new Set<string>();

  constructor(
    private readonly target: PropertyTarget,
    private readonly shifts: boolean,
  ) {}

  private get store(): Store {
    return this.target.store;
  }

  /** Calls the store, noting the clock on both sides: a decision must hold anywhere in between. */
  private async timed<R>(call: () => Promise<R>): Promise<{ result: R; before: number; after: number }> {
    const before = this.target.now();
    const result = await call();
    return { result, before, after: this.target.now() };
  }

  async apply(op: Op): Promise<void> {
    switch (op.op) {
      case 'enqueue':
        return this.enqueue(op.jobs);
      case 'lease':
        return this.lease(op.limit, op.roomA, op.leaseHours * HOUR);
      case 'succeed':
        return this.move(op.pick, { type: 'SUCCEED' });
      case 'fail':
        return this.move(op.pick, { type: 'FAIL', error: { name: 'Error', message: `failed ${op.pick}` }, retryable: op.retryable }, op.delayHours * HOUR);
      case 'timeout':
        return this.move(op.pick, { type: AFTER_TIMEOUT }, op.delayHours * HOUR);
      case 'abandon':
        return this.move(op.pick, { type: 'ABANDON' });
      case 'cancel':
        return this.move(op.pick, { type: 'CANCEL' });
      case 'replay':
        return this.move(op.pick, { type: 'REPLAY' });
      case 'replace':
        return this.replace(op.pick, op.priority, op.runAtHours * HOUR);
      case 'reap':
        return this.reap(op.limit);
      case 'jump':
        return this.jump(op.hours * HOUR + op.seconds * SECOND);
      case 'stale':
        return this.stale(op.pick, op.back, op.pastLease);
      case 'pause':
        await this.store.configureQueue(op.queue, { paused: op.paused });
        if (op.paused) this.paused.add(op.queue);
        else this.paused.delete(op.queue);
        return;
    }
  }

  private async enqueue(specs: Extract<Op, { op: 'enqueue' }>['jobs']): Promise<void> {
    const now = this.target.now();
    const news: Array<NewJob & { deadLetter: boolean }> = specs.map((s, i) => {
      const input = { k: this.jobs.length + i };
      return {
        ...(s.keyed ? { unique: { key: `key-${this.jobs.length + i}`, keepForMs: 0, onConflict: 'ignore' as const, debounce: false } } : {}),
        name: 'prop',
        queue: s.queue,
        input,
        inputJson: JSON.stringify(input),
        priority: s.priority,
        runAt: now + s.runAtHours * HOUR,
        maxRetries: s.maxRetries,
        timeoutMs: 60_000,
        deadLetter: s.deadLetter,
      };
    });
    const stored = await this.store.insert(news);
    expect(stored).toHaveLength(news.length);
    stored.forEach((job, i) => this.enqueued(job, news[i]!));
  }

  /** A job the store inserted: the model's too. */
  private enqueued(job: StoredJob, n: NewJob & { deadLetter: boolean }): void {
    {
      expect(job).toMatchObject({ state: 'pending', attempt: 0, queue: n.queue, priority: n.priority, runAt: n.runAt, input: n.input, leaseToken: null });
      expect(this.byId.has(job.id), `id ${job.id} given twice`).toBe(false);
      const chart = initialJob({ id: job.id, name: n.name, queue: n.queue, attempt: 0, maxRetries: n.maxRetries, timeoutMs: n.timeoutMs, deadLetter: n.deadLetter });
      expect(chart.value).toBe(job.state);
      const model: ModelJob = {
        ...chart,
        id: job.id,
        seq: this.jobs.length,
        queue: n.queue,
        priority: n.priority,
        runAt: n.runAt,
        token: null,
        leaseExpiresAt: null,
        views: [{ value: chart.value, token: null }],
      };
      if (n.unique) {
        model.key = n.unique.key;
        this.holders.set(n.unique.key, model);
      }
      this.jobs.push(model);
      this.byId.set(job.id, model);
    }
  }

  /**
   * An enqueue with a held key and onConflict 'replace': the store must do
   * what the chart says of the holder. Where it accepts REPLACE (pending, or
   * retrying past its backoff, through that delayed edge) the holder takes
   * the new priority and runAt; at rest it frees the key and a new job takes
   * it; elsewhere (running, retrying still backing off) nothing changes.
   */
  private async replace(pickIndex: number, priority: number, runAtMs: number): Promise<void> {
    const keys = [...this.holders.keys()];
    if (keys.length === 0) return;
    const key = keys[pickIndex % keys.length]!;
    const holder = this.holders.get(key)!;
    const now = this.target.now();
    const input = { k: this.jobs.length, replacing: key };
    const job: NewJob & { deadLetter: boolean } = {
      name: 'prop',
      queue: holder.queue,
      input,
      inputJson: JSON.stringify(input),
      priority,
      runAt: now + runAtMs,
      maxRetries: holder.context.maxRetries,
      timeoutMs: 60_000,
      deadLetter: holder.context.deadLetter,
      unique: { key, keepForMs: 0, onConflict: 'replace', debounce: false },
    };
    const { result, before, after } = await this.timed(() => this.store.insert([job]));
    const [answer] = result;
    const expected = sameAtBoth(before, after, (at) => {
      if (CHART_RESTING.includes(holder.value)) return { outcome: 'insert' as const };
      const due = holder.value === 'retrying' && holder.runAt <= at ? step(holder, { type: AFTER_BACKOFF }) : holder;
      const next = due && step(due, { type: 'REPLACE' });
      return next ? { outcome: 'replaced' as const, next } : { outcome: 'kept' as const };
    }, 'what a replace does');
    if (expected.outcome === 'insert') {
      expect(answer!.duplicate, `a replace of ${key} whose holder rests`).toBeUndefined();
      this.enqueued(answer!, job);
      return;
    }
    expect(answer, `a replace of ${key} held by ${holder.id} (${holder.value})`).toMatchObject({ id: holder.id, duplicate: expected.outcome });
    if (expected.outcome === 'kept') return;
    expect(answer!.state).toBe(expected.next.value);
    expect(answer!.replacedFrom).toBe(holder.value === expected.next.value ? undefined : holder.value);
    holder.priority = priority;
    this.update(holder, expected.next, { token: null, runAt: job.runAt });
  }

  /** The jobs a lease at `now` must take, in the one order, within the limit and the queue room. */
  private expectedLease(now: number, limit: number, room: Record<string, number>): ModelJob[] {
    const due = this.jobs
      .filter((j) => (j.value === 'pending' || j.value === 'retrying') && j.runAt <= now && lease(j) !== null && !this.paused.has(j.queue))
      .sort((a, b) => b.priority - a.priority || a.runAt - b.runAt || a.seq - b.seq);
    const taken: Record<string, number> = {};
    const out: ModelJob[] = [];
    for (const job of due) {
      if (out.length === limit) break;
      if (room[job.queue] !== undefined && (taken[job.queue] ?? 0) >= room[job.queue]!) continue;
      taken[job.queue] = (taken[job.queue] ?? 0) + 1;
      out.push(job);
    }
    return out;
  }

  private nextRunAt(now: number): number | null {
    const later = this.jobs.filter((j) => (j.value === 'pending' || j.value === 'retrying') && j.runAt > now).map((j) => j.runAt);
    return later.length === 0 ? null : Math.min(...later);
  }

  private async lease(limit: number, roomA: number | null, leaseMs: number): Promise<void> {
    const queueRoom: Record<string, number> = roomA === null ? {} : { a: roomA };
    const { result, before, after } = await this.timed(() => this.store.lease({ limit, queueRoom, leaseMs, names: ['prop'] }));
    const expected = sameAtBoth(before, after, (now) => this.expectedLease(now, limit, queueRoom).map((j) => j.id), 'the due jobs');
    expect(result.jobs.map((j) => j.id), 'the jobs leased, in the one order').toEqual(expected);
    const nextRunAt = result.jobs.length < limit ? sameAtBoth(before, after, (now) => this.nextRunAt(now), 'the next runAt') : null;
    expect(result.nextRunAt, 'nextRunAt').toBe(nextRunAt);
    for (const leased of result.jobs) {
      const model = this.byId.get(leased.id)!;
      // The one rule stores apply on their own must be the chart's: (after backoff) LEASE -> running.
      const next = lease(model)!;
      expect(leased.state).toBe(next.value);
      expect(leased.leasedFrom).toBe(model.value);
      expect(leased.attempt).toBe(next.context.attempt);
      expect(leased.leaseToken).toBeTruthy();
      expect(this.tokens.has(`${leased.id}:${leased.leaseToken}`), 'a lease token used again on one job').toBe(false);
      expect(leased.leaseExpiresAt!).toBeGreaterThanOrEqual(before + leaseMs - CLOCK_SLACK_MS);
      expect(leased.leaseExpiresAt!).toBeLessThanOrEqual(after + leaseMs + CLOCK_SLACK_MS);
      this.tokens.add(`${leased.id}:${leased.leaseToken}`);
      this.update(model, next, { token: leased.leaseToken, leaseExpiresAt: leased.leaseExpiresAt });
    }
  }

  /**
   * Sends `event` to a job the chart accepts it from (the pick chooses which),
   * and writes the result as the engine does: a compare-and-set on the state
   * and lease the job holds, which must hold.
   */
  private async move(pickIndex: number, event: ChartEvent, retryDelayMs = 0): Promise<void> {
    const candidates = this.jobs.filter((j) => step(j, event) !== null);
    if (candidates.length === 0) return;
    const job = candidates[pickIndex % candidates.length]!;
    const next = step(job, event, retryDelayMs)!;
    const now = this.target.now();
    const write: TransitionWrite = {
      id: job.id,
      from: job.value,
      to: next.value,
      token: job.token,
      attempt: next.context.attempt,
      lastError: next.context.lastError,
    };
    // The backoff's due time and a replay's fresh start are columns, as the engine writes them.
    if (next.value === 'retrying') write.runAt = now + next.context.retryDelayMs;
    if (event.type === 'REPLAY') write.runAt = now;
    expect(await this.store.write([write]), `${event.type} on job ${job.id} (${job.value})`).toEqual([true]);
    this.update(job, next, { runAt: write.runAt });
  }

  private async reap(limit: number): Promise<void> {
    const { result, before, after } = await this.timed(() => this.store.expired(limit));
    const expected = sameAtBoth(
      before,
      after,
      (now) =>
        this.jobs
          .filter((j) => j.value === 'running' && j.leaseExpiresAt! < now)
          .sort((a, b) => a.leaseExpiresAt! - b.leaseExpiresAt! || a.seq - b.seq)
          .slice(0, limit)
          .map((j) => j.id),
      'the expired leases',
    );
    expect(result.map((j) => j.id), 'the expired leases, oldest first').toEqual(expected);
    for (const found of result) {
      const job = this.byId.get(found.id)!;
      expect(found.leaseToken).toBe(job.token);
      const next = step(job, { type: 'LEASE_EXPIRED' })!;
      const write: TransitionWrite = { id: job.id, from: 'running', to: next.value, token: found.leaseToken, attempt: next.context.attempt, lastError: next.context.lastError };
      expect(await this.store.write([write]), `reaping job ${job.id}`).toEqual([true]);
      this.update(job, next, {});
    }
  }

  /**
   * A writer holding an older view of a job (a state and lease it had before;
   * with `pastLease`, a lease it held before its current one) writes a move
   * the chart allows from that view. It must win exactly when the job still
   * stands where that view says.
   */
  private async stale(pickIndex: number, back: number, pastLease: boolean): Promise<void> {
    const olderViews = (j: ModelJob) => j.views.slice(0, -1).filter((v) => !pastLease || (v.token !== null && v.token !== j.token));
    const candidates = this.jobs.filter((j) => olderViews(j).length > 0);
    if (candidates.length === 0) return;
    const job = candidates[pickIndex % candidates.length]!;
    const views = olderViews(job);
    const view = views[views.length - 1 - (back % views.length)]!;
    const seenThen: ChartJob = { value: view.value, context: job.context };
    const event = (['SUCCEED', 'CANCEL', 'REPLAY', 'LEASE_EXPIRED'] as const).map((type) => ({ type })).find((e) => step(seenThen, e) !== null);
    if (!event) return;
    const next = step(seenThen, event)!;
    const write: TransitionWrite = { id: job.id, from: view.value, to: next.value, token: view.token, attempt: next.context.attempt, lastError: next.context.lastError };
    if (event.type === 'REPLAY') write.runAt = this.target.now();
    const holds = job.value === view.value && job.token === view.token;
    expect(await this.store.write([write]), `a stale ${event.type} on job ${job.id} seen as ${view.value}, now ${job.value}`).toEqual([holds]);
    if (holds) this.update(job, step(job, event)!, { runAt: write.runAt });
  }

  private async jump(ms: number): Promise<void> {
    await this.target.jump(ms);
    if (!this.shifts) return;
    for (const job of this.jobs) {
      job.runAt -= ms;
      if (job.leaseExpiresAt !== null) job.leaseExpiresAt -= ms;
    }
  }

  private update(job: ModelJob, next: ChartJob, columns: { token?: string | null; leaseExpiresAt?: number | null; runAt?: number | undefined }): void {
    job.value = next.value;
    job.context = next.context;
    job.token = columns.token ?? null;
    job.leaseExpiresAt = columns.leaseExpiresAt ?? null;
    if (columns.runAt !== undefined) job.runAt = columns.runAt;
    job.views.push({ value: job.value, token: job.token });
  }

  /** Reads the whole store back: states in the chart, every move one the chart makes, counts that add up. */
  async check(): Promise<void> {
    const counts = await this.store.counts();
    expect(Object.keys(counts).filter((state) => !CHART_STATES.includes(state)), 'states outside the chart').toEqual([]);
    const expectedCounts = Object.fromEntries(CHART_STATES.map((state) => [state, this.jobs.filter((j) => j.value === state).length]));
    expect(counts, 'counts by state').toEqual(expectedCounts);
    expect(Object.values(counts).reduce((a, b) => a + b, 0), 'counts add up to the jobs enqueued').toBe(this.jobs.length);

    const stored: StoredJob[] = [];
    for (const state of CHART_STATES) stored.push(...(await this.store.list({ state: state as JobState, limit: 1000 })).jobs);
    expect(stored.map((j) => j.id).sort(), 'every job enqueued, listed once').toEqual(this.jobs.map((j) => j.id).sort());
    for (const job of stored) {
      const model = this.byId.get(job.id)!;
      const was = this.seen.get(job.id) ?? 'pending';
      if (was !== job.state) expect(MOVES.has(`${was} -> ${job.state}`), `job ${job.id} moved ${was} -> ${job.state}, which the chart never does`).toBe(true);
      this.seen.set(job.id, job.state);
      expect(
        { state: job.state, attempt: job.attempt, lastError: job.lastError, leaseToken: job.leaseToken, leaseExpiresAt: job.leaseExpiresAt, runAt: job.runAt },
        `job ${job.id}`,
      ).toEqual({
        state: model.value,
        attempt: model.context.attempt,
        lastError: model.context.lastError,
        leaseToken: model.token,
        leaseExpiresAt: model.leaseExpiresAt,
        runAt: model.runAt,
      });
    }
  }
}

/** Asks `decide` at both ends of a call; a property whose time steps are sound never sees them differ. */
function sameAtBoth<T>(before: number, after: number, decide: (now: number) => T, what: string): T {
  const early = decide(before);
  const late = decide(after);
  expect(late, `${what} changed while the store was answering: a time step is too fine`).toEqual(early);
  return late;
}

/** Runs `numRuns` random sequences of at most `maxOps` operations against the store. */
export async function checkStoreAgainstChart(target: PropertyStore, options: { numRuns: number; maxOps: number }): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.array(opArbitrary, { minLength: 1, maxLength: options.maxOps, size: 'max' }), async (ops) => {
      const fresh = await target.fresh();
      // A run before may have left a queue paused: every run starts with both open.
      for (const queue of ['a', 'b']) await fresh.store.configureQueue(queue, { paused: false });
      const run = new Run(fresh, target.shiftsStoredTimes);
      for (const op of ops) {
        await run.apply(op);
        await run.check();
      }
    }),
    { numRuns: options.numRuns },
  );
}
