import { z } from 'zod';
import { type Duration, durationField } from '../duration.js';
import { InvalidOptionError } from '../errors.js';
import { fields, parseOrThrow } from '../job/options.js';
import { jobRules, type QueueSettingsChange, type StateCounts, type Store, type StoredQueue } from '../store/contract.js';
import { type OptionShape, strictOptions } from '../strict-options.js';

/** A queue's cluster-wide limits, as `queues.configure` takes them: a field left out keeps its value, null clears it. */
export interface QueueConfig {
  /** The most jobs of the queue running at once, across all workers. */
  concurrency?: number | null;
  /** The most jobs started in any window of `per`, across all workers. */
  rateLimit?: { max: number; per: Duration } | null;
  /** The most jobs of one group (`enqueue(def, input, { group })`) running at once. */
  groupConcurrency?: number | null;
}

/** A queue's settings as stored: what every worker obeys. */
export interface QueueSettingsRecord {
  name: string;
  paused: boolean;
  concurrency: number | null;
  rateLimit: { max: number; perMs: number } | null;
  groupConcurrency: number | null;
  /** When the settings last changed; null for a queue never configured. */
  updatedAt: Date | null;
}

/** A queue in `queues.list()`: its settings and its jobs counted by state. */
export interface QueueInfo extends QueueSettingsRecord {
  counts: StateCounts;
}

/**
 * Cluster-wide queue control: settings kept in the store, so every worker
 * sharing it obeys them from the moment they are written. Usable from a
 * process that runs no worker.
 */
export interface Queues {
  configure(name: string, config: QueueConfig): Promise<QueueSettingsRecord>;
  /** Its waiting jobs stay pending, leased by no worker; jobs already running go on. */
  pause(name: string): Promise<QueueSettingsRecord>;
  /** Lets its jobs be leased again, waking idle workers at once. */
  resume(name: string): Promise<QueueSettingsRecord>;
  /** Every queue that has settings or jobs, by name. */
  list(): Promise<QueueInfo[]>;
}

const limit = fields.count.nullable().optional();
const configSchema = strictOptions(
  {
    concurrency: limit,
    rateLimit: strictOptions({ max: fields.count, per: durationField(1) }, 'rateLimit').nullable().optional(),
    groupConcurrency: limit,
  } satisfies OptionShape<QueueConfig>,
  'queues.configure',
);

export interface QueuesParts {
  store: Store;
  /** Opens the store if need be; rejects once the dispatcher stops. */
  ready(): Promise<void>;
}

export function queueControl({ store, ready }: QueuesParts): Queues {
  const change = async (name: unknown, settings: QueueSettingsChange): Promise<QueueSettingsRecord> => {
    const queue = parseOrThrow(fields.queue, name, 'name');
    await ready();
    return toRecord(await store.configureQueue(queue, settings));
  };
  return {
    async configure(name, config) {
      if (config === null || typeof config !== 'object') throw new InvalidOptionError('config', 'must be an object such as { concurrency: 5 }');
      const parsed = parseOrThrow(configSchema, config, '');
      const settings: QueueSettingsChange = {};
      if (parsed.concurrency !== undefined) settings.concurrency = parsed.concurrency;
      if (parsed.groupConcurrency !== undefined) settings.groupConcurrency = parsed.groupConcurrency;
      if (parsed.rateLimit !== undefined) settings.rateLimit = parsed.rateLimit && { max: parsed.rateLimit.max, perMs: parsed.rateLimit.per };
      return change(name, settings);
    },
    pause: (name) => change(name, { paused: true }),
    resume: (name) => change(name, { paused: false }),
    async list() {
      await ready();
      const [settings, counts] = await Promise.all([store.queueSettings(), store.queueCounts()]);
      const byName = new Map(settings.map((q) => [q.name, q]));
      const names = [...new Set([...byName.keys(), ...Object.keys(counts)])].sort();
      return names.map((name): QueueInfo => {
        const stored = byName.get(name);
        return {
          ...(stored ? toRecord(stored) : { name, paused: false, concurrency: null, rateLimit: null, groupConcurrency: null, updatedAt: null }),
          counts: counts[name] ?? (Object.fromEntries(jobRules.states.map((s) => [s, 0])) as StateCounts),
        };
      });
    },
  };
}

function toRecord(queue: StoredQueue): QueueSettingsRecord {
  return {
    name: queue.name,
    paused: queue.paused,
    concurrency: queue.concurrency,
    rateLimit: queue.rateLimit && { ...queue.rateLimit },
    groupConcurrency: queue.groupConcurrency,
    updatedAt: new Date(queue.updatedAt),
  };
}

