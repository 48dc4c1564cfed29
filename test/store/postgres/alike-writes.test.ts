import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PostgresStore } from '../../../src/postgres.js';
import type { StoredJob, TransitionWrite } from '../../../src/store/contract.js';
import { newJob, room } from '../../../src/testing/store-jobs.js';
import { openStore } from './database.js';

// A batch of alike steps (most completions) goes as one statement with its shared values sent once;
// it must leave every row, count and history entry as the general write does.
describe('postgres store: a batch of alike writes', () => {
  let store: PostgresStore;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ store, cleanup } = await openStore());
  });

  afterEach(async () => {
    await cleanup();
  });

  async function leased(n: number) {
    await store.insert(Array.from({ length: n }, (_, i) => newJob({ input: { i } })));
    return (await store.lease({ ...room(n), worker: 'w-1' })).jobs;
  }

  // As the engine writes a step: attempt and last error always given.
  const complete = (job: StoredJob, extra: Partial<TransitionWrite> = {}): TransitionWrite => ({
    id: job.id, from: 'running', to: 'completed', token: job.leaseToken, attempt: job.attempt, lastError: null, event: 'SUCCEED', worker: 'w-1', ...extra,
  });
  const boom = { name: 'PermanentError', message: 'no "way" \\ back' };
  const fail = (job: StoredJob): TransitionWrite => ({ ...complete(job), to: 'failed', lastError: boom, event: 'FAIL' });

  /** A job as written, less the times a write sets (they differ between two writes by design). */
  const shape = (job: StoredJob | null | undefined) => {
    const { updatedAt, createdAt, runAt, id, input, ...rest } = job!;
    return rest;
  };

  it('applies each held write, refuses a stale token or state, stores results, and records the same job and history as the general write', async () => {
    const [a, b, c, d, e] = await leased(5);
    // a, b, c alike (b with a result); d with a stale token; e already moved on.
    expect(await store.write([{ ...complete(e!), to: 'cancelled', event: 'CANCEL' }])).toEqual([true]);
    const alikeAnswers = await store.write([complete(a!), complete(b!, { resultJson: '{"ok":1}' }), complete(c!), complete(d!, { token: 'not-the-token' }), complete(e!)]);
    expect(alikeAnswers).toEqual([true, true, true, false, false]);

    // The same completion through the general write: a batch that is not alike (one write leaves the last error as it is).
    const [f, g] = await leased(2);
    expect(await store.write([complete(f!), complete(g!, { lastError: undefined })])).toEqual([true, true]);

    const [ja, jb, jd, jf] = await Promise.all([a, b, d, f].map((job) => store.get(job!.id)));
    expect(ja).toMatchObject({ state: 'completed', leaseToken: null, leaseExpiresAt: null, result: null });
    expect(jb).toMatchObject({ state: 'completed', result: { ok: 1 } });
    expect(jd).toMatchObject({ state: 'running', leaseToken: d!.leaseToken });
    expect(shape(ja)).toEqual(shape(jf));

    const [ha, hf] = await Promise.all([store.history(a!.id), store.history(f!.id)]);
    const steps = (h: typeof ha) => h.map(({ at, ...step }) => step);
    expect(steps(ha)).toEqual(steps(hf));
    expect(steps(ha).at(-1)).toMatchObject({ from: 'running', to: 'completed', event: 'SUCCEED', worker: 'w-1' });
    expect((await store.counts()).completed).toBe(5);
  });

  it('records a failure (a last error, in the job and its history entry) as the general write does', async () => {
    const [a, b, c] = await leased(3);
    expect(await store.write([fail(a!), fail(b!)])).toEqual([true, true]);
    expect(await store.write([fail(c!), { ...fail(a!), lastError: undefined }])).toEqual([true, false]);
    const [ja, jc] = await Promise.all([store.get(a!.id), store.get(c!.id)]);
    expect(ja).toMatchObject({ state: 'failed', lastError: boom, leaseToken: null });
    expect(shape(ja)).toEqual(shape(jc));
    const [ha, hc] = await Promise.all([store.history(a!.id), store.history(c!.id)]);
    const steps = (h: typeof ha) => h.map(({ at, ...step }) => step);
    expect(steps(ha)).toEqual(steps(hc));
    expect(steps(ha).at(-1)).toMatchObject({ from: 'running', to: 'failed', event: 'FAIL', error: boom });
  });

  it('keeps no history entry when the writes carry no event', async () => {
    const [a] = await leased(1);
    const before = await store.history(a!.id);
    expect(await store.write([{ id: a!.id, from: 'running', to: 'completed', token: a!.leaseToken }])).toEqual([true]);
    expect(await store.history(a!.id)).toEqual(before);
  });
});
