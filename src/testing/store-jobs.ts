import type { LeaseRequest, NewJob, Store } from '../store/contract.js';

/** A job to insert, named `job` on the `default` queue, due a second ago, unless `overrides` say otherwise. */
export function newJob(overrides: Partial<NewJob> = {}): NewJob {
  const job = {
    name: 'job',
    queue: 'default',
    input: { n: 1 } as unknown,
    priority: 0,
    runAt: Date.now() - 1000,
    maxRetries: 3,
    timeoutMs: 60_000,
    ...overrides,
  };
  return { ...job, inputJson: overrides.inputJson ?? JSON.stringify(job.input) };
}

/** The name newJob gives: what the tests lease unless they say otherwise. */
export const NAMES: readonly string[] = ['job'];

/** A lease request for up to `limit` jobs, of the names newJob gives unless `routing` names others. */
export function room(
  limit: number,
  queueRoom: Record<string, number> = {},
  routing: { names?: readonly string[]; queues?: readonly string[] } = {},
): LeaseRequest {
  return { limit, queueRoom, leaseMs: 30_000, names: routing.names ?? NAMES, ...(routing.queues ? { queues: routing.queues } : {}) };
}

/** Takes duty `name` on `store` and keeps it until `release()`; `held` answers what withDuty did. */
export async function holdDuty(store: Store, name: string): Promise<{ release: () => void; held: Promise<boolean> }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let entered!: () => void;
  const inside = new Promise<void>((resolve) => (entered = resolve));
  const held = store.withDuty(name, async () => {
    entered();
    await released;
  });
  await inside;
  return { release, held };
}
