import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { backoff, type BackoffStrategy, defineJob, InvalidOptionError } from '../../src/index.js';
import { harness } from '../support/harness.js';

const error = { name: 'Error', message: 'x' };

describe('backoff strategies', () => {
  it('constant waits the same every time', () => {
    const s = backoff.constant('2s');
    expect([1, 2, 3].map((n) => s(n, error))).toEqual([2000, 2000, 2000]);
  });

  it('linear grows by its base and stops at max', () => {
    const s = backoff.linear({ base: 100, max: 250 });
    expect([1, 2, 3, 4].map((n) => s(n, error))).toEqual([100, 200, 250, 250]);
  });

  it('exponential doubles from base up to max', () => {
    const s = backoff.exponential({ base: '1s', max: '5s', jitter: 'none' });
    expect([1, 2, 3, 4, 5].map((n) => s(n, error))).toEqual([1000, 2000, 4000, 5000, 5000]);
    const tripling = backoff.exponential({ base: 10, max: 1000, factor: 3, jitter: 'none' });
    expect([1, 2, 3].map((n) => tripling(n, error))).toEqual([10, 30, 90]);
  });

  it('full jitter stays within [0, ceiling] and equal jitter within [ceiling/2, ceiling]', () => {
    const full = backoff.exponential({ base: 1000, max: 60_000, jitter: 'full' });
    const equal = backoff.exponential({ base: 1000, max: 60_000, jitter: 'equal' });
    const fulls = Array.from({ length: 500 }, () => full(3, error));
    const equals = Array.from({ length: 500 }, () => equal(3, error));
    expect(Math.min(...fulls)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...fulls)).toBeLessThanOrEqual(4000);
    expect(Math.min(...equals)).toBeGreaterThanOrEqual(2000);
    expect(Math.max(...equals)).toBeLessThanOrEqual(4000);
    // Jitter really spreads the delays.
    expect(new Set(fulls).size).toBeGreaterThan(100);
  });

  it('refuses options that make no sense, naming them', () => {
    expect(() => backoff.constant(-5)).toThrow(InvalidOptionError);
    expect(() => backoff.exponential({ base: 'soon' as never })).toThrow(/backoff.exponential.base/);
    expect(() => backoff.exponential({ factor: 0.5 })).toThrow(/backoff.exponential.factor/);
    expect(() => backoff.exponential({ jitter: 'some' as never })).toThrow(/backoff.exponential.jitter/);
  });
});

describe('backoff between attempts', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  async function attemptTimes(strategy: BackoffStrategy | undefined, dispatcherBackoff?: BackoffStrategy) {
    const starts: number[] = [];
    const job = defineJob({
      name: 'fails',
      input: z.object({}),
      maxRetries: 3,
      ...(strategy ? { backoff: strategy } : {}),
      handler: async () => {
        starts.push(Date.now());
        throw new Error('again');
      },
    });
    const { dispatcher, reached } = harness(dispatcherBackoff ? { backoff: dispatcherBackoff } : {});
    dispatcher.register(job);
    await dispatcher.start();
    const { id } = await dispatcher.enqueue(job, {});
    const dead = reached(id, 'dlq');
    await vi.advanceTimersByTimeAsync(60_000);
    await dead;
    await dispatcher.stop();
    return starts.slice(1).map((t, i) => t - starts[i]!);
  }

  it('waits exactly the exponential delays between attempts', async () => {
    expect(await attemptTimes(backoff.exponential({ base: '1s', max: '1m', jitter: 'none' }))).toEqual([1000, 2000, 4000]);
  });

  it('waits the constant delay between attempts', async () => {
    expect(await attemptTimes(backoff.constant('1500ms'))).toEqual([1500, 1500, 1500]);
  });

  it('uses the dispatcher backoff when the definition has none, and a custom function as given', async () => {
    expect(await attemptTimes(undefined, backoff.linear({ base: 300 }))).toEqual([300, 600, 900]);
    const seen: Array<[number, string]> = [];
    const custom: BackoffStrategy = (attempt, err) => {
      seen.push([attempt, err.message]);
      return attempt * 7;
    };
    expect(await attemptTimes(custom)).toEqual([7, 14, 21]);
    expect(seen).toEqual([
      [1, 'again'],
      [2, 'again'],
      [3, 'again'],
    ]);
  });

  it('stores the backoff due time as the job runAt while it is retrying', async () => {
    const job = defineJob({
      name: 'once',
      input: z.object({}),
      backoff: backoff.constant('10s'),
      handler: async (_, ctx) => {
        if (ctx.attempt === 1) throw new Error('first');
      },
    });
    const { dispatcher, reached } = harness();
    dispatcher.register(job);
    await dispatcher.start();
    const { id } = await dispatcher.enqueue(job, {});
    const failed = reached(id, 'retrying');
    await vi.advanceTimersByTimeAsync(0);
    const retrying = await failed;
    const stored = await dispatcher.getJob(id);
    expect(stored).toMatchObject({ state: 'retrying', attempt: 1 });
    expect(stored!.runAt.getTime()).toBe(retrying.at.getTime() + 10_000);
    await vi.advanceTimersByTimeAsync(9_999);
    expect((await dispatcher.getJob(id))!.state).toBe('retrying');
    await vi.advanceTimersByTimeAsync(1);
    await reached(id, 'completed');
    // The worker may be between leases, waiting on a (fake) turn of the event loop.
    const stopping = dispatcher.stop();
    await vi.advanceTimersByTimeAsync(10);
    await stopping;
  });
});
