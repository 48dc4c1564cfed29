import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { createDispatcher, defineJob, type Dispatcher, InvalidOptionError, type Logger, memoryStore } from '../../src/index.js';
import { consoleLogger, defaultLogger, silentLogger } from '../../src/observability/logger.js';
import { until } from '../support/until.js';

/** A pino logger writing JSON lines into `lines`. */
function pinoInto(lines: Array<Record<string, unknown>>): Logger {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return pino({ level: 'debug' }, stream);
}

describe('the logger', () => {
  let dispatcher: Dispatcher | null = null;
  afterEach(async () => {
    await dispatcher?.stop();
    dispatcher = null;
    vi.restoreAllMocks();
  });

  it('writes start, stop and a lease error to a pino logger, and still tells onError', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const told: string[] = [];
    const store = memoryStore();
    const lease = store.lease.bind(store);
    let failures = 1;
    store.lease = (request) => (failures-- > 0 ? Promise.reject(new Error('disk on fire')) : lease(request));
    const job = defineJob({ name: 'noop', input: z.object({}), handler: async () => {} });
    dispatcher = createDispatcher({ store, logger: pinoInto(lines), onError: (_, context) => told.push(context) }).register(job);
    await dispatcher.start();
    await dispatcher.enqueue(job, {});
    await until(() => told.length > 0, 'the lease error');
    await dispatcher.stop();

    const error = lines.find((l) => l.level === 50)!;
    expect(error).toMatchObject({ lib: 'dispatch-ts', msg: 'leasing jobs', context: 'leasing jobs', err: { type: 'Error', message: 'disk on fire' } });
    expect(told).toEqual(['leasing jobs']);
    expect(lines.filter((l) => l.level === 30).map((l) => l.msg)).toEqual(['dispatcher started', 'dispatcher stopping: draining running jobs', 'dispatcher stopped']);
    expect(lines.find((l) => l.msg === 'dispatcher started')).toMatchObject({ lib: 'dispatch-ts', store: 'memory', concurrency: 10 });
    expect(lines.some((l) => l.level === 20 && String(l.msg).startsWith('drained'))).toBe(true);
  });

  it('is silent under a test runner, and writes errors to the console elsewhere, as the engine did before', () => {
    expect(defaultLogger({ NODE_ENV: 'test' })).toBe(silentLogger);
    expect(defaultLogger({ VITEST: 'true' })).toBe(silentLogger);
    expect(defaultLogger({ NODE_ENV: 'production' })).toBe(consoleLogger);
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const cause = new Error('boom');
    consoleLogger.error({ err: cause, context: 'leasing jobs' }, 'leasing jobs');
    expect(error).toHaveBeenCalledWith('dispatch: leasing jobs:', cause);
  });

  it('refuses a logger without the four methods, naming the option', () => {
    expect(() => createDispatcher({ logger: { error: () => {} } as never })).toThrow(InvalidOptionError);
    expect(() => createDispatcher({ logger: console.log as never })).toThrow(/logger/);
    expect(() => createDispatcher({ onError: 'loud' as never })).toThrow(/onError/);
  });
});
