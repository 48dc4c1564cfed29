import { createRequire } from 'node:module';
import { wipeBenchKeys } from '../lib/cleanup.js';
import { BULLMQ_PREFIX, QUEUE, REDIS } from '../lib/env.js';
import { type Adapter, type JobHandler, type OpenOptions, Unavailable } from '../lib/types.js';

type BullMQ = typeof import('bullmq');

/** The little of ioredis used here; its types are not imported, so the bench type-checks without it. */
interface RedisClient {
  connect(): Promise<void>;
  disconnect(): void;
  scan(cursor: string, ...args: Array<string | number>): Promise<[string, string[]]>;
  unlink(...keys: string[]): Promise<number>;
}
type IORedis = new (options: Record<string, unknown>) => RedisClient;

const require = createRequire(import.meta.url);
const CHUNK = 10_000;

/** BullMQ on Redis, set up as its docs recommend for throughput. */
export async function bullmqAdapter(): Promise<Adapter> {
  let Redis: IORedis;
  try {
    // BullMQ 6 no longer ships ioredis; it is an optional peer dependency.
    const loaded = require('ioredis') as IORedis & { default?: IORedis };
    Redis = loaded.default ?? loaded;
  } catch {
    throw new Unavailable(
      'BullMQ 6.7 needs its optional peer ioredis, which is not installed (it is a devDependency: npm ci installs it)',
    );
  }
  const { Queue, Worker } = (await import('bullmq')) as BullMQ;
  const connection = { host: REDIS.host, port: REDIS.port, maxRetriesPerRequest: null };
  const redis = new Redis({ ...connection, lazyConnect: true });
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw new Unavailable(`Redis at ${REDIS.host}:${REDIS.port} does not answer: ${(error as Error).message}`);
  }
  let queue: InstanceType<BullMQ['Queue']> | null = null;
  let worker: InstanceType<BullMQ['Worker']> | null = null;
  let concurrency = 1;
  let limiter: { max: number; duration: number } | undefined;
  let jobOpts: Record<string, unknown> = {};
  const settings: Record<string, unknown> = {
    version: (require('bullmq/package.json') as { version: string }).version,
    ioredis: (require('ioredis/package.json') as { version: string }).version,
    connection: `ioredis ${REDIS.host}:${REDIS.port}, maxRetriesPerRequest: null`,
    jobOptions: 'removeOnComplete: true, removeOnFail: true (keeps Redis small, as the docs advise)',
  };

  const wipe = () => wipeBenchKeys(redis);

  const bulk = (from: number, count: number) =>
    Array.from({ length: count }, (_, k) => ({ name: QUEUE, data: { i: from + k }, opts: jobOpts }));

  return {
    settings,
    async open(options: OpenOptions) {
      if (options.reset) await wipe();
      concurrency = options.concurrency;
      limiter = options.rateLimit && { max: options.rateLimit.max, duration: options.rateLimit.perMs };
      jobOpts = { removeOnComplete: true, removeOnFail: true };
      if (options.retry) {
        jobOpts = { ...jobOpts, attempts: 2, backoff: { type: 'fixed', delay: 0 } };
        settings.retry = "attempts: 2, backoff: { type: 'fixed', delay: 0 }";
      }
      queue = new Queue(QUEUE, { connection, prefix: BULLMQ_PREFIX });
      await queue.waitUntilReady();
    },
    async enqueue(i) {
      await queue!.add(QUEUE, { i }, jobOpts);
    },
    async enqueueUrgent(i) {
      // BullMQ runs jobs without a priority before prioritized ones, so no priority can pass a plain backlog;
      // LIFO puts the job at the head of the wait list instead, the next one taken.
      await queue!.add(QUEUE, { i }, { ...jobOpts, lifo: true });
    },
    async enqueueKeyed(i, key) {
      // BullMQ's equal of a unique key: deduplication by id, held until the job completes or fails.
      await queue!.add(QUEUE, { i }, { ...jobOpts, deduplication: { id: key } });
    },
    async enqueueBulk(from, count) {
      await queue!.addBulk(bulk(from, count));
    },
    async fill(from, count) {
      for (let done = 0; done < count; done += CHUNK) await queue!.addBulk(bulk(from + done, Math.min(CHUNK, count - done)));
    },
    async startWorker(handler: JobHandler) {
      settings.worker = `one Worker, concurrency ${concurrency}${limiter ? `, limiter: { max: ${limiter.max}, duration: ${limiter.duration} }` : ''}`;
      worker = new Worker(QUEUE, async (job) => handler((job.data as { i: number }).i), {
        connection,
        prefix: BULLMQ_PREFIX,
        concurrency,
        ...(limiter && { limiter }),
        autorun: false,
      });
      worker.on('error', (error) => console.error('bullmq worker:', error));
      void worker.run();
    },
    async remaining() {
      const counts = await queue!.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'waiting-children');
      return Object.values(counts).reduce((a, b) => a + b, 0);
    },
    async close() {
      await worker?.close();
      await queue?.close();
      redis.disconnect();
    },
  };
}
