import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { Hono } from 'hono';
import {
  createDispatcher,
  defineJob,
  type Duration,
  type EnqueueOptions,
  type InputOf,
  type JobError,
  type JobHistoryEntry,
  type JobState,
  type JobRecord,
  type MigrationReport,
  type OutputOf,
  type RecordOf,
  type ReplayAllOptions,
  type SqliteStore,
  type AdminServer,
  serveAdmin,
} from '../../src/index.js';
import type { PostgresStore } from '../../src/postgres.js';

/**
 * The public API's types, checked by the compiler (`npm test` runs `tsc
 * --noEmit` over the tests): each `@ts-expect-error` fails the build if the
 * line below it compiles. The calls sit in functions never called: they are
 * about types, not behaviour.
 */
const invoice = defineJob({
  name: 'invoice',
  input: z.object({ customer: z.string(), lines: z.array(z.number()), note: z.string().optional() }),
  output: z.object({ total: z.number(), currency: z.string().default('EUR') }),
  handler: async ({ lines }) => ({ total: lines.reduce((a, b) => a + b, 0) }),
});
const untyped = defineJob({ name: 'untyped', input: z.object({ n: z.number() }), handler: async () => {} });
const dispatcher = createDispatcher().register(invoice).register(untyped);

describe('the public API, as the compiler sees it', () => {
  it('types a handler and an enqueue by the definition input schema', () => {
    expectTypeOf<InputOf<typeof invoice>>().toEqualTypeOf<{ customer: string; lines: number[]; note?: string | undefined }>();
    expectTypeOf(dispatcher.enqueue<typeof invoice>).parameter(1).toEqualTypeOf<InputOf<typeof invoice>>();
    defineJob({
      name: 'typed-handler',
      input: z.object({ when: z.string() }),
      handler: async (input) => {
        expectTypeOf(input).toEqualTypeOf<{ when: string }>();
      },
    });
    async function refused() {
      // @ts-expect-error: a field of the wrong type
      await dispatcher.enqueue(invoice, { customer: 'a', lines: ['1'] });
      // @ts-expect-error: a required field missing
      await dispatcher.enqueue(invoice, { lines: [1] });
      // @ts-expect-error: enqueueMany checks every input
      await dispatcher.enqueueMany(untyped, [{ n: 1 }, { n: 'two' }]);
    }
    void refused;
  });

  it('refuses option values of the wrong type', () => {
    async function refused() {
      // @ts-expect-error: priority is a number
      await dispatcher.enqueue(untyped, { n: 1 }, { priority: 'high' });
      // @ts-expect-error: runAt is a Date
      await dispatcher.enqueue(untyped, { n: 1 }, { runAt: '2030-01-01' });
      // @ts-expect-error: maxRetries is a number
      await dispatcher.enqueue(untyped, { n: 1 }, { maxRetries: true });
    }
    void refused;
    expectTypeOf<EnqueueOptions['delay']>().toEqualTypeOf<Duration | undefined>();
  });

  it('carries the output type to the record, getJob aside, and to waitFor', async () => {
    expectTypeOf<OutputOf<typeof invoice>>().toEqualTypeOf<{ total: number; currency: string }>();
    expectTypeOf<RecordOf<typeof invoice>['result']>().toEqualTypeOf<{ total: number; currency: string } | null>();
    expectTypeOf<RecordOf<typeof untyped>['result']>().toEqualTypeOf<unknown>();
    async function awaited() {
      const job = await dispatcher.enqueue(invoice, { customer: 'a', lines: [1, 2] });
      const done = await dispatcher.waitFor(job);
      expectTypeOf(done.result).toEqualTypeOf<{ total: number; currency: string } | null>();
      expectTypeOf(done.input).toEqualTypeOf<InputOf<typeof invoice>>();
      // getJob takes an id alone, so it cannot know the definition: its record is untyped.
      expectTypeOf(await dispatcher.getJob(job.id)).toEqualTypeOf<JobRecord | null>();
    }
    void awaited;
    // A handler must return what the output schema takes in.
    defineJob({
      name: 'bad-output',
      input: z.object({}),
      output: z.object({ total: z.number() }),
      // @ts-expect-error: a string is not { total: number }
      handler: async () => 'done',
    });
  });

  it("answers a job's history as JobHistoryEntry, the shape the admin API reads", () => {
    expectTypeOf(dispatcher.jobs.history).toEqualTypeOf<(id: string) => Promise<JobHistoryEntry[]>>();
    expectTypeOf<JobHistoryEntry>().toEqualTypeOf<{
      from: JobState | null;
      to: JobState;
      event: string;
      attempt: number;
      error?: JobError;
      worker: string | null;
      at: Date;
    }>();
    // @ts-expect-error a history is read by id
    const byNumber = () => dispatcher.jobs.history(42);
    void byNumber;
  });

  it('takes milliseconds or a duration string, and refuses nonsense strings', () => {
    const ok: Duration[] = [500, '30s', '2h', '10m', '1.5 hours', '500ms'];
    void ok;
    // @ts-expect-error: not a unit
    const bananas: Duration = '10 bananas';
    // @ts-expect-error: not a length of time at all
    const soon: Duration = 'soon';
    void [bananas, soon];
  });

  it('types what a migration did, and the progress replayAll reports', () => {
    expectTypeOf<ReturnType<SqliteStore['migrate']>>().toEqualTypeOf<Promise<MigrationReport>>();
    expectTypeOf<ReturnType<PostgresStore['migrate']>>().toEqualTypeOf<Promise<MigrationReport>>();
    expectTypeOf<MigrationReport['applied'][number]>().toEqualTypeOf<{ version: number; name: string }>();
    expectTypeOf<NonNullable<ReplayAllOptions['onProgress']>>().toEqualTypeOf<(replayed: number) => void>();
  });

  it('gives the admin API as a Hono app to mount, and serveAdmin a server to close', () => {
    function mounted() {
      const app = new Hono();
      app.route('/ops', dispatcher.admin({ token: 'a-long-token', readOnly: true, sampleEvery: '10s' }));
      expectTypeOf(dispatcher.admin().fetch).returns.toEqualTypeOf<Response | Promise<Response>>();
    }
    void mounted;
    expectTypeOf(serveAdmin).returns.resolves.toEqualTypeOf<AdminServer>();
    expectTypeOf<AdminServer['close']>().returns.toEqualTypeOf<Promise<void>>();
    async function refused() {
      // @ts-expect-error: a port is a number
      await serveAdmin(dispatcher, { port: '4300' });
      // @ts-expect-error: not an option
      dispatcher.admin({ colour: 'red' });
    }
    void refused;
  });
});
