import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HistoryEntry, LeasedJob, LeaseRequest, NewJob } from '../../../src/store/contract.js';
import type { PostgresStore } from '../../../src/postgres.js';
import { named } from '../../../src/store/postgres/statements.js';
import { newJob, room } from '../../../src/testing/store-jobs.js';
import { openStore, sql } from './database.js';

/** An idle worker's offer: one job of the names newJob gives, history under worker w1. */
const offered = (overrides: Partial<LeaseRequest> = {}): LeaseRequest => ({ ...room(10), worker: 'w1', ...overrides });

/** A history's steps without their times, to compare two jobs'. */
const steps = (entries: HistoryEntry[]) => entries.map(({ at: _at, ...step }) => step);

describe('postgres store: an idle worker offers its room to the next insert', () => {
  let store: PostgresStore;
  let schema: string;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ store, schema, cleanup } = await openStore({ onError: () => undefined }));
  });
  afterEach(() => cleanup());

  /** Posts an offer; its withdraw answers the jobs handed over (told before the insert's caller is answered). */
  const post = (request: LeaseRequest) => {
    const handed: LeasedJob[] = [];
    const offer = store.offer(request, (jobs) => handed.push(...jobs));
    return {
      handed,
      withdraw: async () => {
        await offer.withdraw();
        return handed;
      },
    };
  };

  const row = async (id: string) =>
    (await sql<{ state: string; attempt: number; lease_token: string | null }>(`SELECT state, attempt, lease_token FROM ${pg.escapeIdentifier(schema)}.jobs WHERE id = $1`, [id]))[0];

  it('writes a lone due job already leased, as a lease after the insert would have: same row, same history, handed over once', async () => {
    const woken: number[] = [];
    const off = store.subscribe((runAt) => woken.push(runAt));
    const offer = post(offered({ leaseMs: 45_000 }));
    const before = Date.now();
    const runAt = before - 1234;
    const [job] = await store.insert([newJob({ input: { n: 7 }, runAt })]);
    // Handed over before the enqueue is answered, and nobody woken to look for it.
    expect(offer.handed.map((j) => j.id)).toEqual([job!.id]);
    expect(woken).not.toContain(runAt);
    const [plain] = await store.insert([newJob({ runAt: runAt - 1 })]);
    expect(woken).toContain(runAt - 1);
    off();
    await sql(`DELETE FROM ${pg.escapeIdentifier(schema)}.jobs WHERE id = $1`, [plain!.id]);
    // The caller is answered as for any enqueue.
    expect(job).toMatchObject({ state: 'pending', attempt: 0, input: { n: 7 } });
    const handed = await offer.withdraw();
    expect(handed).toHaveLength(1);
    const [leased] = handed;
    expect(leased).toMatchObject({ id: job!.id, state: 'running', attempt: 1, leasedFrom: 'pending', name: 'job', queue: 'default', input: { n: 7 } });
    expect(leased!.leaseToken).toEqual(expect.any(String));
    expect(leased!.leaseExpiresAt).toBeGreaterThanOrEqual(before + 45_000 - 1000);
    expect(leased!.leaseExpiresAt).toBeLessThanOrEqual(Date.now() + 45_000 + 1000);
    expect(await row(job!.id)).toEqual({ state: 'running', attempt: 1, lease_token: leased!.leaseToken });
    expect(await store.get(job!.id)).toMatchObject({ state: 'running', leaseToken: leased!.leaseToken, leaseExpiresAt: leased!.leaseExpiresAt });
    // The lease took nothing else: the job is not leased twice.
    expect((await store.lease(room(10))).jobs).toEqual([]);
    // Its history is the one an insert and then a lease by the same worker writes.
    const [other] = await store.insert([newJob()]);
    await store.lease({ ...room(10), worker: 'w1' });
    expect(steps(await store.history(job!.id))).toEqual(steps(await store.history(other!.id)));
    expect((await store.history(job!.id)).map((e) => e.event)).toEqual(['xstate.init', 'LEASE']);
    // Its writes go through under the token handed over.
    expect(await store.write([{ id: job!.id, from: 'running', to: 'completed', token: leased!.leaseToken, event: 'SUCCEED', worker: 'w1' }])).toEqual([true]);
  });

  it('is taken by one insert only, and not once withdrawn', async () => {
    const offer = post(offered());
    const [first] = await store.insert([newJob()]);
    const [second] = await store.insert([newJob()]);
    expect((await offer.withdraw()).map((j) => j.id)).toEqual([first!.id]);
    expect((await row(second!.id))?.state).toBe('pending');

    const untaken = post(offered());
    expect(await untaken.withdraw()).toEqual([]);
    const [third] = await store.insert([newJob()]);
    expect((await row(third!.id))?.state).toBe('pending');
  });

  it('hands over nothing the lease would not have taken first', async () => {
    // Each case: what the offer asks, what is inserted, and anything set up before.
    const cases: Array<{ why: string; request?: Partial<LeaseRequest>; job?: Partial<NewJob>; before?: () => Promise<unknown> }> = [
      { why: 'a name the worker does not run', job: { name: 'other' } },
      { why: 'a queue the worker does not serve', request: { queues: ['mail'] } },
      { why: 'a queue the worker caps', request: { queueRoom: { default: 5 } } },
      { why: 'a paused queue', before: () => store.configureQueue('default', { paused: true }) },
      { why: 'a limited queue', before: () => store.configureQueue('default', { rateLimit: { max: 100, perMs: 1000 } }) },
      { why: 'a job of a group', job: { group: 'g' } },
      { why: 'a job due later', job: { runAt: Date.now() + 60_000 } },
      { why: 'an earlier due job at the same priority', before: () => store.insert([newJob()]) },
      { why: 'a due job at a higher priority', job: { priority: 1 }, before: () => store.insert([newJob({ priority: 5 })]) },
      { why: 'a job with a unique key', job: { unique: { key: 'k', keepForMs: 0, onConflict: 'ignore', debounce: false } } },
    ];
    for (const c of cases) {
      await sql(`TRUNCATE ${pg.escapeIdentifier(schema)}.jobs, ${pg.escapeIdentifier(schema)}.queues, ${pg.escapeIdentifier(schema)}.job_keys`);
      await c.before?.();
      const offer = post(offered(c.request));
      const [job] = await store.insert([newJob(c.job)]);
      expect(await offer.withdraw(), c.why).toEqual([]);
      expect((await row(job!.id))?.state, c.why).toBe('pending');
    }
  });

  it('hands over a job above what waits, and beside other names and queues it does not take', async () => {
    await store.insert([newJob({ priority: 3 }), newJob({ name: 'other', priority: 9 }), newJob({ queue: 'mail', priority: 9 })]);
    const offer = post(offered({ queues: ['default'] }));
    const [job] = await store.insert([newJob({ priority: 4 })]);
    expect((await offer.withdraw()).map((j) => j.id)).toEqual([job!.id]);
  });

  it("passes over a paused queue's backlog when deciding what comes first", async () => {
    await store.insert([newJob({ queue: 'held', priority: 9 })]);
    await store.configureQueue('held', { paused: true });
    const offer = post(offered());
    const [job] = await store.insert([newJob()]);
    expect((await offer.withdraw()).map((j) => j.id)).toEqual([job!.id]);
  });

  it('leaves batches of more than one job to the lease', async () => {
    const offer = post(offered());
    const jobs = await store.insert([newJob(), newJob()]);
    expect(await offer.withdraw()).toEqual([]);
    expect((await store.lease(room(10))).jobs.map((j) => j.id)).toEqual(jobs.map((j) => j.id));
  });

  it('settles with nothing when the insert fails, storing nothing', async () => {
    const offer = post(offered());
    await expect(store.insert([newJob({ inputJson: '{not json' })])).rejects.toThrow(/inserting jobs failed/);
    expect(await offer.withdraw()).toEqual([]);
    expect(await sql(`SELECT id FROM ${pg.escapeIdentifier(schema)}.jobs`)).toEqual([]);
  });

  it("leaves to the lease, by its own test, a job not yet due by the database's clock or of a group, whatever the caller checked", async () => {
    const statement = named(schema).insertHanded;
    // Straight to the statement, past the store's own checks: name, queue, input, priority, runAt, retries, timeout, group, trace, origin; the offer.
    const insert = (runAt: number, group: string | null) =>
      sql<{ state: string }>(statement.text, [['job'], ['default'], ['{}'], [0], [runAt], [3], [60_000], group === null ? null : [group], null, 'o', ['job'], null, 30_000, null, []]);
    // In this order, so no row before a case is a due job that comes first.
    expect((await insert(Date.now() - 1_000, null))[0]?.state).toBe('running');
    expect((await insert(Date.now() + 5_000, null))[0]?.state).toBe('pending');
    expect((await insert(Date.now() - 1_000, 'g'))[0]?.state).toBe('pending');
  });
});
