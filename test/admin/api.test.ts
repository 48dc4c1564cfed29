import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDispatcher, InvalidOptionError, JOB_STATES, memoryStore, serveAdmin } from '../../src/index.js';
import { type StoreTarget, storeTargets } from '../support/store-targets.js';
import { until } from '../support/until.js';
import { type AdminHarness, readEvents, startAdmin, work } from './admin-harness.js';

const targets = storeTargets('dispatch-admin-');
/** Whether anything listens to the dispatcher's events (the engine makes them only then). */
const observed = (admin: AdminHarness) => (admin.dispatcher as unknown as { events: { observed: boolean } }).events.observed;
const hour = () => new Date(Date.now() + 3_600_000);

describe.each(['memory', 'sqlite'] as const)('the admin API over HTTP: %s store', (kind) => {
  let target: StoreTarget;
  let admin: AdminHarness;
  beforeEach(async () => {
    target = targets[kind]();
    admin = await startAdmin(target);
  });
  afterEach(async () => {
    await admin.close();
    await target.cleanup();
  });

  it('counts jobs by state and by queue, and completions a minute across the store', async () => {
    const { dispatcher, call } = admin;
    const jobs = await dispatcher.enqueueMany(work, [{ n: 1 }, { n: 2 }, { n: 3 }], { queue: 'a' });
    const dead = await dispatcher.enqueue(work, { n: 4, fail: true }, { queue: 'b' });
    await dispatcher.enqueue(work, { n: 5 }, { queue: 'b', runAt: hour() });
    for (const job of [...jobs, dead]) await dispatcher.waitFor(job, { timeout: 10_000 });
    // Sampled every 100 ms: the next samples see the completions.
    let stats: any;
    await until(async () => {
      stats = (await call('api/stats')).body;
      return stats.throughput.perMinute.reduce((n: number, m: { completed: number }) => n + m.completed, 0) >= 3;
    }, 'the throughput to count the completions', 10_000);
    expect(stats.counts).toEqual({ pending: 1, running: 0, retrying: 0, completed: 3, failed: 0, dlq: 1, cancelled: 0 });
    expect(stats.queues).toEqual([
      { name: 'a', paused: false, counts: expect.objectContaining({ completed: 3, dlq: 0 }) },
      { name: 'b', paused: false, counts: expect.objectContaining({ pending: 1, dlq: 1 }) },
    ]);
    const perMinute = stats.throughput.perMinute as Array<{ minute: string; completed: number; dead: number }>;
    expect(perMinute.reduce((n, m) => n + m.completed, 0)).toBe(3);
    expect(perMinute.reduce((n, m) => n + m.dead, 0)).toBe(1);
    expect(stats.throughput.sampleEveryMs).toBe(100);
    expect(new Date(perMinute.at(-1)!.minute).getTime()).toBeLessThanOrEqual(Date.now());
  });

  it('lists jobs by state, queue and name, a page at a time, and names a bad query parameter', async () => {
    const { dispatcher, call } = admin;
    for (let n = 0; n < 3; n++) await dispatcher.enqueue(work, { n }, { queue: 'bulk', runAt: hour() });
    await dispatcher.enqueue('other', {}, { queue: 'bulk', runAt: hour() });
    await dispatcher.enqueue(work, { n: 9 }, { queue: 'elsewhere', runAt: hour() });
    const first = await call('api/jobs?state=pending&queue=bulk&name=work&limit=2');
    expect(first.status).toBe(200);
    expect(first.body.jobs.map((j: { input: { n: number } }) => j.input.n)).toEqual([0, 1]);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const rest = await call(`api/jobs?state=pending&queue=bulk&name=work&limit=2&cursor=${encodeURIComponent(first.body.nextCursor)}`);
    expect(rest.body.jobs.map((j: { input: { n: number } }) => j.input.n)).toEqual([2]);
    expect(rest.body.nextCursor).toBeNull();
    expect((await call('api/jobs?state=pending')).body.jobs).toHaveLength(5);
    expect((await call('api/jobs?state=completed')).body).toEqual({ jobs: [], nextCursor: null });

    const bad = async (query: string) => (await call(`api/jobs?${query}`)).body.error;
    expect(await bad('')).toEqual({ status: 400, field: 'state', message: expect.stringContaining('must be one of pending') });
    expect(await bad('state=asleep')).toMatchObject({ status: 400, field: 'state' });
    expect(await bad('state=pending&limit=many')).toMatchObject({ status: 400, field: 'limit', message: expect.stringContaining('whole number') });
    expect(await bad('state=pending&limit=0')).toMatchObject({ status: 400, field: 'limit', message: 'limit: must be at least 1' });
    expect(await bad('state=pending&limit=1001')).toMatchObject({ status: 400, field: 'limit' });
    expect(await bad('state=pending&queue=')).toMatchObject({ status: 400, field: 'queue' });
    expect(await bad('state=pending&stat=dlq')).toMatchObject({ status: 400, field: 'stat', message: expect.stringContaining('not a query parameter') });
    expect(await bad('state=pending&state=dlq')).toMatchObject({ status: 400, field: 'state', message: expect.stringContaining('more than once') });
  });

  it('shows one job with its input, result, progress, errors and history; 404 for an unknown one', async () => {
    const { dispatcher, call } = admin;
    const done = await dispatcher.enqueue(work, { n: 21 });
    const dead = await dispatcher.enqueue(work, { n: 7, fail: true });
    await dispatcher.waitFor(done, { timeout: 10_000 });
    await dispatcher.waitFor(dead, { timeout: 10_000 });
    const one = await call(`api/jobs/${done.id}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: done.id, name: 'work', state: 'completed', input: { n: 21 }, result: { doubled: 42 }, progress: { done: 21 }, lastError: null, attempt: 1 });
    const steps = (body: { history: Array<{ from: string | null; to: string; event: string; worker: string | null; at: string }> }) =>
      body.history.map((h) => `${h.from ?? '(new)'} -${h.event}-> ${h.to}`);
    expect(steps(one.body)).toEqual(['(new) -xstate.init-> pending', 'pending -LEASE-> running', 'running -SUCCEED-> completed']);
    expect(one.body.history[1]).toMatchObject({ attempt: 1, worker: expect.any(String), at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    const failed = await call(`api/jobs/${dead.id}`);
    expect(failed.body).toMatchObject({ state: 'dlq', lastError: { name: 'PermanentError', message: 'job 7 was told to fail' } });
    expect(steps(failed.body)).toEqual(['(new) -xstate.init-> pending', 'pending -LEASE-> running', 'running -FAIL-> dlq']);
    expect(failed.body.history[2].error).toMatchObject({ name: 'PermanentError', message: 'job 7 was told to fail' });
    const missing = await call('api/jobs/no-such-job');
    expect(missing).toEqual({ status: 404, body: { error: { status: 404, message: 'no job with id "no-such-job"' } } });
    expect((await call('api/nothing-here')).status).toBe(404);
  });

  it('cancels, retries now and reschedules, and answers 409 where the chart has no such move', async () => {
    const { dispatcher, call } = admin;
    const waiting = await dispatcher.enqueue(work, { n: 1 }, { runAt: hour() });
    const cancelled = await call(`api/jobs/${waiting.id}/cancel`, { method: 'POST' });
    expect(cancelled).toMatchObject({ status: 200, body: { id: waiting.id, state: 'cancelled' } });

    const later = await dispatcher.enqueue(work, { n: 2 }, { runAt: hour() });
    const moved = await call(`api/jobs/${later.id}/reschedule`, { body: { runAt: '2099-01-01T00:00:00.000Z', priority: 7 } });
    expect(moved).toMatchObject({ status: 200, body: { state: 'pending', priority: 7, runAt: '2099-01-01T00:00:00.000Z' } });
    const now = await call(`api/jobs/${later.id}/retry`, { method: 'POST' });
    expect(now).toMatchObject({ status: 200, body: { state: 'pending' } });
    expect(new Date(now.body.runAt).getTime()).toBeLessThanOrEqual(Date.now());
    const done = await dispatcher.waitFor(later.id, { timeout: 10_000 });
    expect(done.state).toBe('completed');

    const dead = await dispatcher.enqueue(work, { n: 3, fail: true });
    await dispatcher.waitFor(dead, { timeout: 10_000 });
    const replayed = await call(`api/jobs/${dead.id}/retry`, { method: 'POST' });
    expect(replayed).toMatchObject({ status: 200, body: { state: 'pending', attempt: 0 } });

    const conflict = await call(`api/jobs/${later.id}/retry`, { method: 'POST' });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.message).toContain('completed');
    expect((await call(`api/jobs/${later.id}/reschedule`, { body: { priority: 1 } })).body.error).toMatchObject({ status: 409, message: expect.stringContaining('RESCHEDULE') });
    // Already at rest: a cancel answers the job as it is.
    expect((await call(`api/jobs/${later.id}/cancel`, { method: 'POST' })).body).toMatchObject({ state: 'completed' });

    const bad = async (body: unknown) => (await call(`api/jobs/${waiting.id}/reschedule`, { body })).body.error;
    expect(await bad({ runAt: 'tomorrow' })).toMatchObject({ status: 400, field: 'runAt' });
    expect(await bad({ priority: -1 })).toMatchObject({ status: 400, field: 'priority' });
    expect(await bad({ priority: 'high' })).toMatchObject({ status: 400, field: 'priority' });
    expect(await bad({ when: 1 })).toMatchObject({ status: 400, field: 'when' });
    expect(await bad('{not json')).toMatchObject({ status: 400, field: 'body' });
    expect(await bad({})).toMatchObject({ status: 400, message: expect.stringContaining('runAt, priority or both') });
    expect((await call('api/jobs/nope/cancel', { method: 'POST' })).status).toBe(404);
    expect((await call('api/jobs/nope/retry', { method: 'POST' })).status).toBe(404);
  });

  it('lists the DLQ, shows one, replays one or all of a name, and purges', async () => {
    const { dispatcher, call } = admin;
    const dead = [];
    for (let n = 0; n < 4; n++) dead.push(await dispatcher.enqueue(work, { n, fail: true }, { queue: n < 2 ? 'x' : 'y' }));
    const alive = await dispatcher.enqueue(work, { n: 9 });
    for (const job of [...dead, alive]) await dispatcher.waitFor(job, { timeout: 10_000 });

    const page = await call('api/dlq?limit=3');
    expect(page.body.jobs).toHaveLength(3);
    expect(page.body.nextCursor).toEqual(expect.any(String));
    expect((await call('api/dlq?queue=y')).body.jobs.map((j: { id: string }) => j.id)).toEqual([dead[2]!.id, dead[3]!.id]);
    expect((await call(`api/dlq/${dead[0]!.id}`)).body).toMatchObject({
      id: dead[0]!.id,
      state: 'dlq',
      history: [expect.objectContaining({ to: 'pending' }), expect.objectContaining({ to: 'running' }), expect.objectContaining({ to: 'dlq', event: 'FAIL' })],
    });
    expect((await call(`api/dlq/${alive.id}`)).body.error).toMatchObject({ status: 404, message: expect.stringContaining('not in the DLQ (it is completed)') });

    // Replayed jobs fail again, so each lands back in the DLQ once run: wait for that before counting.
    expect((await call(`api/dlq/${dead[0]!.id}/replay`, { method: 'POST' })).body).toMatchObject({ state: 'pending' });
    expect((await call(`api/dlq/${alive.id}/replay`, { method: 'POST' })).status).toBe(409);
    await dispatcher.waitFor(dead[0]!.id, { timeout: 10_000 });
    expect((await call('api/dlq/replay', { body: { queue: 'y' } })).body).toEqual({ replayed: 2 });
    for (const job of dead) await dispatcher.waitFor(job.id, { timeout: 10_000 });
    expect((await call('api/dlq/replay', { body: { name: 'other' } })).body).toEqual({ replayed: 0 });
    expect((await call('api/dlq/replay', { body: { queue: 7 } })).body.error).toMatchObject({ status: 400, field: 'queue' });

    expect((await call('api/dlq/purge', { body: {} })).body.error).toMatchObject({ status: 400, field: 'before' });
    expect((await call('api/dlq/purge', { body: { before: 'last week' } })).body.error).toMatchObject({ status: 400, field: 'before' });
    expect((await call('api/dlq/purge', { body: { before: '2000-01-01T00:00:00Z' } })).body).toEqual({ purged: 0 });
    expect((await call('api/dlq/purge', { body: { before: new Date(Date.now() + 1000).toISOString() } })).body).toEqual({ purged: 4 });
    expect((await call('api/dlq')).body.jobs).toEqual([]);
  });

  it('lists, pauses, resumes and configures queues', async () => {
    const { dispatcher, call } = admin;
    const paused = await call('api/queues/slow/pause', { method: 'POST' });
    expect(paused.body).toMatchObject({ name: 'slow', paused: true });
    const job = await dispatcher.enqueue(work, { n: 1 }, { queue: 'slow' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await dispatcher.getJob(job.id))!.state).toBe('pending');
    const listed = await call('api/queues');
    expect(listed.body.queues).toEqual([expect.objectContaining({ name: 'slow', paused: true, counts: expect.objectContaining({ pending: 1 }) })]);
    expect((await call('api/queues/slow/resume', { method: 'POST' })).body).toMatchObject({ paused: false });
    expect((await dispatcher.waitFor(job, { timeout: 10_000 })).state).toBe('completed');

    const configured = await call('api/queues/slow', { method: 'PATCH', body: { concurrency: 2, rateLimit: { max: 10, per: '1s' }, groupConcurrency: 1 } });
    expect(configured.body).toMatchObject({ name: 'slow', concurrency: 2, rateLimit: { max: 10, perMs: 1000 }, groupConcurrency: 1 });
    expect((await call('api/queues/slow', { method: 'PATCH', body: { concurrency: null } })).body).toMatchObject({ concurrency: null, groupConcurrency: 1 });
    expect((await call('api/queues/slow', { method: 'PATCH', body: { concurrency: 0 } })).body.error).toMatchObject({ status: 400, field: 'concurrency' });
    expect((await call('api/queues/slow', { method: 'PATCH', body: { rateLimit: { max: 1, per: 'soon' } } })).body.error).toMatchObject({ status: 400, field: 'rateLimit.per' });
    expect((await call('api/queues/slow', { method: 'PATCH', body: { concurency: 2 } })).body.error).toMatchObject({ status: 400, field: 'concurency' });
  });

  it('lists schedules and removes one; 404 for one not there', async () => {
    const { dispatcher, call } = admin;
    await dispatcher.schedule('nightly', '0 3 * * *', work, { n: 1 }, { tz: 'Europe/Berlin' });
    const listed = await call('api/schedules');
    expect(listed.body.schedules).toEqual([expect.objectContaining({ name: 'nightly', cron: '0 3 * * *', tz: 'Europe/Berlin', job: 'work', input: { n: 1 }, nextRunAt: expect.any(String) })]);
    expect((await call('api/schedules/nightly', { method: 'DELETE' })).body).toEqual({ removed: 'nightly' });
    expect((await call('api/schedules/nightly', { method: 'DELETE' })).body.error).toMatchObject({ status: 404 });
    expect((await call('api/schedules')).body.schedules).toEqual([]);
  });

  it('draws the job chart: every state of jobMachine placed, every transition with its points', async () => {
    const { body } = await admin.call('api/chart');
    expect(body.initial).toBe('pending');
    expect(body.states.map((s: { id: string }) => s.id).sort()).toEqual([...JOB_STATES].sort());
    for (const state of body.states) {
      expect(state.x).toBeGreaterThan(0);
      expect(state.x + state.width / 2).toBeLessThanOrEqual(body.width);
    }
    expect(body.transitions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ from: 'pending', to: 'running', event: 'LEASE', kind: 'event', points: expect.any(Array) }),
        expect.objectContaining({ from: 'failed', to: 'dlq', kind: 'always', guard: 'deadLetter' }),
        expect.objectContaining({ from: 'retrying', to: 'pending', kind: 'delay', label: 'after backoff' }),
      ]),
    );
    for (const t of body.transitions) expect(t.points.length).toBeGreaterThan(1);
  });

  it("streams this dispatcher's transitions as Server-Sent Events, one job's when asked, and ends them when the server closes", async () => {
    const { dispatcher, url } = admin;
    const all = await fetch(new URL('api/events', url));
    expect(all.headers.get('content-type')).toContain('text/event-stream');
    const one = await fetch(new URL('api/events?job=2', url));
    await readEvents(all, (e) => e.some((x) => x.event === 'ready'));
    await readEvents(one, (e) => e.some((x) => x.event === 'ready'));
    const first = await dispatcher.enqueue(work, { n: 1 });
    const second = await dispatcher.enqueue(work, { n: 2 });
    expect(second.id).toBe('2');
    const seen = await readEvents(all, (e) => e.filter((x) => x.event === 'transition' && x.data.to === 'completed').length === 2);
    const steps = seen.filter((e) => e.event === 'transition').map((e) => `${e.data.jobId} ${e.data.from}-${e.data.event}->${e.data.to}`);
    expect(steps).toEqual(expect.arrayContaining([`${first.id} pending-LEASE->running`, `${first.id} running-SUCCEED->completed`, `2 running-SUCCEED->completed`]));
    const only = await readEvents(one, (e) => e.some((x) => x.data.to === 'completed'));
    expect(new Set(only.filter((e) => e.event === 'transition').map((e) => e.data.jobId))).toEqual(new Set(['2']));
    expect((await fetch(new URL('api/events?job=', url))).status).toBe(400);

    // close() ends open streams rather than waiting for the clients to go.
    const started = Date.now();
    await admin.server.close();
    expect(Date.now() - started).toBeLessThan(1500);
    const ended = await all.body!.getReader().read();
    expect(ended.done).toBe(true);
    await until(() => !observed(admin), 'every stream to unsubscribe', 5000);
  });

  it('unsubscribes a client that goes: with no stream open, the engine builds no events for it', async () => {
    const gone = new AbortController();
    const leaving = await fetch(new URL('api/events', admin.url), { signal: gone.signal });
    await readEvents(leaving, (e) => e.some((x) => x.event === 'ready'));
    expect(observed(admin)).toBe(true);
    gone.abort();
    await until(() => !observed(admin), 'the stream to unsubscribe', 5000);
  });

  it('serves the dashboard and its files without a token', async () => {
    const page = await fetch(admin.url);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain("assets/app.js");
    const script = await fetch(new URL('assets/app.js', admin.url));
    expect(script.headers.get('content-type')).toContain('javascript');
    expect(await script.text()).toContain('hashchange');
    expect((await fetch(new URL('assets/chart.js', admin.url))).status).toBe(200);
    expect((await fetch(new URL('assets/style.css', admin.url))).headers.get('content-type')).toContain('text/css');
    expect((await fetch(new URL('assets/nope.js', admin.url))).status).toBe(404);
    expect((await fetch(new URL('assets/index.html', admin.url))).status).toBe(404);
  });
});

describe('the admin API: a token, a host other than loopback, mounting', () => {
  const closes: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closes.splice(0).reverse()) await close();
  });
  const start = async (options: Parameters<typeof startAdmin>[1]) => {
    const target = targets.memory();
    const admin = await startAdmin(target, options);
    closes.push(() => admin.close());
    return admin;
  };

  it('with a token, answers 401 to every API route without it, and takes it as ?token= on the stream only', async () => {
    const token = 'a-long-enough-token';
    const metrics = { contentType: 'text/plain; version=0.0.4', metrics: async () => 'jobs_total 3\n' };
    const { call, url } = await start({ token, metrics });
    for (const path of ['api/stats', 'api/jobs?state=pending', 'api/jobs/1', 'api/dlq', 'api/queues', 'api/schedules', 'api/chart', 'api/info', 'metrics']) {
      const refused = await call(path);
      expect(refused.status, path).toBe(401);
      expect(refused.body.error).toMatchObject({ status: 401, message: expect.stringContaining('Bearer') });
      expect((await call(path, { token: 'the-wrong-token' })).status, path).toBe(401);
    }
    expect((await call('api/queues/q/pause', { method: 'POST' })).status).toBe(401);
    expect((await call('api/stats', { token })).status).toBe(200);
    expect((await call(`api/stats?token=${token}`)).status).toBe(401);
    expect((await fetch(new URL('api/events', url))).status).toBe(401);
    expect((await fetch(new URL('api/events?token=nope', url))).status).toBe(401);
    const stream = await fetch(new URL(`api/events?token=${token}`, url));
    expect(stream.status).toBe(200);
    await stream.body!.cancel();
    const scraped = await fetch(new URL('metrics', url), { headers: { authorization: `Bearer ${token}` } });
    expect(scraped.headers.get('content-type')).toBe('text/plain; version=0.0.4');
    expect(await scraped.text()).toBe('jobs_total 3\n');
    // The page holds no data: it loads, then asks for the token.
    expect((await fetch(url)).status).toBe(200);
  });

  it('bound to 0.0.0.0 without a token, reads but refuses every change (403); with a token, allows them', async () => {
    const open = await start({ host: '0.0.0.0' });
    const local = open.url.replace('0.0.0.0', '127.0.0.1');
    expect((await fetch(new URL('api/stats', local))).status).toBe(200);
    expect(await (await fetch(new URL('api/info', local))).json()).toMatchObject({ readOnly: true, states: ['pending', 'running', 'retrying', 'completed', 'failed', 'dlq', 'cancelled'] });
    const refused = await fetch(new URL('api/queues/q/pause', local), { method: 'POST' });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ error: { status: 403, message: expect.stringContaining('read-only') } });
    expect((await fetch(new URL('api/dlq/purge', local), { method: 'POST', body: '{"before":"2030-01-01"}' })).status).toBe(403);

    const token = 'a-long-enough-token';
    const guarded = await start({ host: '0.0.0.0', token });
    const there = guarded.url.replace('0.0.0.0', '127.0.0.1');
    const paused = await fetch(new URL('api/queues/q/pause', there), { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
    expect(paused.status).toBe(200);
  });

  it("refuses a change another site's page could send, and takes one sent as JSON", async () => {
    const { url } = await start({});
    const pause = (headers: Record<string, string>) => fetch(new URL('api/queues/q/pause', url), { method: 'POST', headers });
    // A form or a no-cors fetch on another site: text/plain (or no type) from a foreign origin.
    const forged = await pause({ origin: 'http://evil.example', 'content-type': 'text/plain' });
    expect(forged.status).toBe(403);
    expect(await forged.json()).toEqual({ error: { status: 403, message: expect.stringContaining('cross-site') } });
    expect((await pause({ 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await pause({})).status).toBe(403);
    expect((await pause({ 'content-type': 'application/json' })).status).toBe(200);
    expect((await pause({ 'sec-fetch-site': 'same-origin' })).status).toBe(200);
  });

  it('mounts in a Hono app under a path, and in a Node server through getRequestListener', async () => {
    const dispatcher = createDispatcher({ store: memoryStore() });
    closes.push(() => dispatcher.stop());
    const app = new Hono();
    app.route('/ops', dispatcher.admin());
    expect(await (await app.request('/ops/api/stats')).json()).toMatchObject({ counts: { pending: 0 } });
    expect((await app.request('/ops')).headers.get('content-type')).toContain('text/html');
    expect((await app.request('/ops/assets/app.js')).status).toBe(200);

    const server = createServer(getRequestListener(dispatcher.admin({ token: 'a-long-enough-token' }).fetch));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closes.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    expect((await fetch(new URL('api/queues', base))).status).toBe(401);
    expect((await fetch(new URL('api/queues', base), { headers: { authorization: 'Bearer a-long-enough-token' } })).status).toBe(200);
  });

  it("serves this dispatcher's Prometheus metrics at /metrics by default, and none when told", async () => {
    const { dispatcher, call } = await start({});
    await dispatcher.waitFor(await dispatcher.enqueue(work, { n: 1 }, { queue: 'scraped' }), { timeout: 10_000 });
    const scraped = await call('metrics');
    expect(scraped.status).toBe(200);
    expect(scraped.body).toMatch(/^dispatch_jobs_completed_total\{queue="scraped",name="work"\} 1$/m);
    expect(scraped.body).toMatch(/^dispatch_jobs_enqueued_total\{queue="scraped",name="work"\} 1$/m);
    expect((await (await start({ metrics: false })).call('metrics')).status).toBe(404);
    expect(() => dispatcher.admin({ metrics: true } as never)).toThrow(expect.objectContaining({ field: 'metrics' }));
  });

  it('refuses bad options with a typed error naming the field', async () => {
    const dispatcher = createDispatcher({ store: memoryStore() });
    closes.push(() => dispatcher.stop());
    await expect(serveAdmin(dispatcher, { port: -1 })).rejects.toThrow(InvalidOptionError);
    await expect(serveAdmin(dispatcher, { port: 1.5 })).rejects.toMatchObject({ field: 'port' });
    await expect(serveAdmin(dispatcher, { host: '' })).rejects.toMatchObject({ field: 'host' });
    expect(() => dispatcher.admin({ token: 'short' })).toThrow(expect.objectContaining({ field: 'token' }));
    expect(() => dispatcher.admin({ sampleEvery: '1 fortnight' } as never)).toThrow(expect.objectContaining({ field: 'sampleEvery' }));
    expect(() => dispatcher.admin({ colour: 'red' } as never)).toThrow(expect.objectContaining({ field: 'colour' }));
  });
});

describe('the admin API on PostgreSQL', () => {
  it('counts, lists, shows and replays a job, and streams its steps', async () => {
    const target = targets.postgres();
    const admin = await startAdmin(target);
    try {
      const stream = await fetch(new URL('api/events', admin.url));
      await readEvents(stream, (e) => e.some((x) => x.event === 'ready'));
      const dead = await admin.dispatcher.enqueue(work, { n: 1, fail: true }, { queue: 'pg' });
      await admin.dispatcher.waitFor(dead, { timeout: 10_000 });
      const steps = await readEvents(stream, (e) => e.some((x) => x.data.to === 'dlq'));
      expect(steps.filter((e) => e.event === 'transition').map((e) => `${e.data.from}-${e.data.event}->${e.data.to}`)).toEqual([
        'pending-LEASE->running',
        'running-PROGRESS->running',
        'running-FAIL->dlq',
      ]);
      expect((await admin.call('api/stats')).body.queues).toEqual([{ name: 'pg', paused: false, counts: expect.objectContaining({ dlq: 1 }) }]);
      expect((await admin.call('api/dlq?queue=pg')).body.jobs.map((j: { id: string }) => j.id)).toEqual([dead.id]);
      expect((await admin.call(`api/jobs/${dead.id}`)).body).toMatchObject({ state: 'dlq', lastError: { name: 'PermanentError' } });
      expect((await admin.call(`api/jobs/${dead.id}/retry`, { method: 'POST' })).body).toMatchObject({ state: 'pending' });
      await stream.body!.cancel();
    } finally {
      await admin.close();
      await target.cleanup();
    }
  });
});
