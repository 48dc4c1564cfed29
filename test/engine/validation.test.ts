import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  backoff,
  createDispatcher,
  defineJob,
  DispatchError,
  DuplicateJobError,
  InvalidInputError,
  InvalidOptionError,
  NotSerializableError,
  PayloadTooLargeError,
  UnknownJobError,
  ValidationError,
} from '../../src/index.js';
import { harness } from '../support/harness.js';

const sendEmail = defineJob({
  name: 'send_email',
  input: z.object({ to: z.string().email(), subject: z.string(), body: z.string().optional() }),
  handler: async () => {},
});
const anything = defineJob({ name: 'anything', input: z.any(), handler: async () => {} });
const valid = { to: 'a@example.com', subject: 'hi' };

describe('bad input is refused before anything is stored', () => {
  let d = harness().dispatcher;
  afterEach(async () => {
    // Whatever was refused, the store holds nothing.
    const counts = await d.counts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
    await d.stop();
  });

  function fresh() {
    d = harness().dispatcher;
    d.registerAll([sendEmail, anything]);
    return d;
  }

  async function refusal(run: Promise<unknown>) {
    const error = await run.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toBeInstanceOf(DispatchError);
    return error as ValidationError;
  }

  it('an unknown job name', async () => {
    const error = await refusal(fresh().enqueue('nope', {}));
    expect(error).toBeInstanceOf(UnknownJobError);
    expect(error.field).toBe('name');
    expect(error.message).toMatch(/no job named "nope"/);
  });

  it('a definition that was never registered', async () => {
    const other = defineJob({ name: 'unregistered', input: z.object({}), handler: async () => {} });
    expect(await refusal(fresh().enqueue(other, {}))).toBeInstanceOf(UnknownJobError);
  });

  it('a payload that fails the schema, naming the field', async () => {
    const error = await refusal(fresh().enqueue(sendEmail, { to: 'not-an-email', subject: 'x' }));
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.field).toBe('input.to');
    expect((error as InvalidInputError).issues).toEqual([{ path: 'to', message: 'Invalid email address' }]);
    const missing = await refusal(d.enqueue(sendEmail, { to: 'a@b.co' } as never));
    expect(missing.field).toBe('input.subject');
  });

  it.each([
    ['a function', { f: () => 1 }, 'input.f'],
    ['a BigInt', { n: 10n }, 'input.n'],
    ['a cycle', (() => {
      const o: Record<string, unknown> = {};
      o.self = o;
      return o;
    })(), 'input.self'],
    ['a Date', { when: new Date() }, 'input.when'],
    ['a Map', { m: new Map() }, 'input.m'],
    ['NaN', { list: [1, Number.NaN] }, 'input.list[1]'],
    ['a symbol', { s: Symbol('x') }, 'input.s'],
    ['undefined in an array', { list: [undefined] }, 'input.list[0]'],
  ])('a payload that is not JSON-serialisable: %s', async (_, input, field) => {
    const error = await refusal(fresh().enqueue(anything, input));
    expect(error).toBeInstanceOf(NotSerializableError);
    expect(error.field).toBe(field);
  });

  it.each([
    [{ priority: -1 }, 'options.priority', /must not be negative/],
    [{ priority: 1.5 }, 'options.priority', /whole number/],
    [{ timeout: -5 }, 'options.timeout', /negative/],
    [{ timeout: 0 }, 'options.timeout', /at least 1 ms/],
    [{ timeout: 'soon' }, 'options.timeout', /not a duration/],
    [{ timeout: Number.NaN }, 'options.timeout', /^NaN is not a duration/],
    // A timeout is waited out on a timer: at most 2^31 - 1 ms.
    [{ timeout: '30d' }, 'options.timeout', /at most 2147483647 ms \(about 24.8 days, the longest a timer waits\), got "30d"/],
    [{ delay: Number.NaN }, 'options.delay', /^NaN is not a duration/],
    [{ delay: 8e15 }, 'options.delay', /end of the year 9999/],
    [{ runAt: new Date('not a date') }, 'options.runAt', /valid Date/],
    [{ runAt: '2030-01-01' }, 'options.runAt', /valid Date/],
    [{ runAt: new Date(), delay: 5 }, 'options.delay', /not both/],
    [{ maxRetries: -1 }, 'options.maxRetries', /negative/],
    [{ queue: '' }, 'options.queue', /empty/],
    [{ prority: 1 }, 'options.prority', /not an option/],
  ])('an option out of range: %o', async (options, field, reason) => {
    const error = await refusal(fresh().enqueue(sendEmail, valid, options as never));
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error.field).toBe(field);
    expect(error.reason).toMatch(reason);
  });

  it('a bad input among many: none of the batch is stored', async () => {
    const error = await refusal(fresh().enqueueMany(sendEmail, [valid, valid, { to: 'x', subject: 's' }]));
    expect(error.field).toBe('inputs[2].to');
  });

  it('a job id that is not a string', async () => {
    await refusal(fresh().getJob(42 as never));
    await refusal(d.cancel('' as never));
  });
});

describe('how long a duration may be: the one rule', () => {
  it('a delay becomes a time in the store, so it may be as long as runAt may be far: 30 days is accepted, as is runAt in 30 days', async () => {
    const dispatcher = harness().dispatcher.register(sendEmail);
    const month = 30 * 86_400_000;
    const byDelay = await dispatcher.enqueue(sendEmail, valid, { delay: '30d' });
    const byRunAt = await dispatcher.enqueueAt(sendEmail, valid, new Date(Date.now() + month));
    expect(byDelay.runAt.getTime() - byDelay.createdAt.getTime()).toBeGreaterThanOrEqual(month - 1000);
    expect(byRunAt.runAt.getTime()).toBeGreaterThan(Date.now() + month - 1000);
    // Past the year 9999 from now: refused, naming the field, nothing stored.
    const error = (await dispatcher.enqueue(sendEmail, valid, { delay: 253402300799999 }).catch((e: unknown) => e)) as InvalidOptionError;
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error.field).toBe('delay');
    expect((await dispatcher.counts()).pending).toBe(2);
    await dispatcher.stop();
  });

  it('a backoff becomes a time in the store too: 30 days is a backoff, not a timeout', () => {
    expect(backoff.constant('30d')(1, { name: 'E', message: '' })).toBe(30 * 86_400_000);
    expect(() => defineJob({ name: 'slow', input: z.object({}), timeout: '30d', handler: async () => {} })).toThrow(/about 24.8 days/);
  });
});

describe('definitions and dispatchers check their configuration', () => {
  it('registering a name twice is an error', () => {
    const d = createDispatcher();
    d.register(sendEmail);
    expect(() => d.register(sendEmail)).toThrow(DuplicateJobError);
    const twin = defineJob({ name: 'send_email', input: z.object({}), handler: async () => {} });
    expect(() => d.register(twin)).toThrow(/already registered/);
  });

  it('defineJob refuses a bad definition, naming the field', () => {
    const base = { name: 'ok', input: z.object({}), handler: async () => {} };
    expect(() => defineJob({ ...base, name: '' })).toThrow(/defineJob.name: must not be empty/);
    expect(() => defineJob({ ...base, input: { parse() {} } as never })).toThrow(/defineJob.input: must be a zod schema/);
    expect(() => defineJob({ ...base, handler: 'run' as never })).toThrow(/defineJob.handler: must be a function/);
    expect(() => defineJob({ ...base, timeout: '-1s' as never })).toThrow(/defineJob\(ok\).timeout/);
    expect(() => defineJob({ ...base, priority: -3 })).toThrow(InvalidOptionError);
  });

  it('createDispatcher refuses bad options, naming the field', () => {
    expect(() => createDispatcher({ concurrency: 0 })).toThrow(/concurrency: must be at least 1/);
    expect(() => createDispatcher({ queues: { mail: { concurrency: -1 } } })).toThrow(/queues.mail.concurrency/);
    expect(() => createDispatcher({ lease: '1s', heartbeat: '2s' })).toThrow(/heartbeat: must be shorter than lease/);
    expect(() => createDispatcher({ timeout: 'forever' as never })).toThrow(/options.timeout/);
    expect(() => createDispatcher({ backoff: 5 as never })).toThrow(/backoff/);
  });
});

describe('payload size', () => {
  it('refuses an input over maxPayloadBytes as JSON, counting UTF-8 bytes, and stores nothing', async () => {
    const { dispatcher } = harness({ maxPayloadBytes: 1000 });
    dispatcher.register(anything);
    // 400 three-byte characters: 400 UTF-16 units, 1,200 bytes of UTF-8.
    const error = await dispatcher.enqueue(anything, { text: '€'.repeat(400) }).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error).toMatchObject({ field: 'input', bytes: 1211, limit: 1000 });
    const many = await dispatcher.enqueueMany(anything, [{ ok: 1 }, { text: 'x'.repeat(2000) }]).then(() => null, (e: unknown) => e);
    expect(many).toMatchObject({ field: 'inputs[1]' });
    expect(await dispatcher.enqueue(anything, { text: 'x'.repeat(900) })).toMatchObject({ state: 'pending' });
    expect((await dispatcher.counts()).pending).toBe(1);
    await dispatcher.stop();
  });

  it('has a default limit of 1 MiB, and the option is checked', async () => {
    const { dispatcher } = harness();
    dispatcher.register(anything);
    await expect(dispatcher.enqueue(anything, { blob: 'x'.repeat(1024 * 1024) })).rejects.toBeInstanceOf(PayloadTooLargeError);
    await dispatcher.stop();
    expect(() => createDispatcher({ maxPayloadBytes: 0 })).toThrow(/maxPayloadBytes: must be at least 1/);
  });
});

describe('limits on what is stored', () => {
  it('refuses a runAt no store can keep', async () => {
    const { dispatcher } = harness();
    dispatcher.register(anything);
    await expect(dispatcher.enqueue(anything, {}, { runAt: new Date(-8.64e15) })).rejects.toThrow(/options.runAt: must not be before 1970/);
    await expect(dispatcher.enqueue(anything, {}, { runAt: new Date(8.64e15) })).rejects.toThrow(/options.runAt: must not be after the year 9999/);
    expect((await dispatcher.counts()).pending).toBe(0);
    await dispatcher.stop();
  });

  it("cuts a handler error's message and stack to a bounded size", async () => {
    const { toJobError } = await import('../../src/engine/records.js');
    const error = new Error('x'.repeat(100_000));
    error.stack = 'y'.repeat(100_000);
    const kept = toJobError(error);
    expect(kept.message.length).toBeLessThan(9 * 1024);
    expect(kept.message).toMatch(/more characters cut\)$/);
    expect(kept.stack!.length).toBeLessThan(17 * 1024);
    expect(toJobError(new Error('short')).message).toBe('short');
  });
});
