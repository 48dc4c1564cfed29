import type { Adapter, StoreKind, TargetId } from './types.js';

export interface TargetDef {
  id: TargetId;
  label: string;
  /** The store kind it runs on; ratios compare ours with the best peer on the same kind. */
  kind: StoreKind;
  ours: boolean;
  /** Targets that share one queue (a schema or key prefix); a backlog left by one is reused by the others. */
  shared: string | null;
}

export const TARGETS: readonly TargetDef[] = [
  { id: 'memory', label: 'dispatch (memory)', kind: 'memory', ours: true, shared: null },
  { id: 'sqlite', label: 'dispatch (sqlite)', kind: 'sqlite', ours: true, shared: 'sqlite' },
  { id: 'postgres', label: 'dispatch (postgres)', kind: 'postgres', ours: true, shared: 'postgres' },
  { id: 'bullmq', label: 'BullMQ (redis)', kind: 'redis', ours: false, shared: 'bullmq' },
  { id: 'pgboss', label: 'pg-boss (batch = concurrency)', kind: 'postgres', ours: false, shared: 'pgboss' },
  { id: 'pgboss-batch', label: 'pg-boss (batch 1000)', kind: 'postgres', ours: false, shared: 'pgboss' },
  { id: 'graphile', label: 'Graphile Worker (plain)', kind: 'postgres', ours: false, shared: 'graphile' },
  { id: 'graphile-batch', label: 'Graphile Worker (batched)', kind: 'postgres', ours: false, shared: 'graphile' },
  { id: 'xstate', label: 'bare XState actor', kind: 'none', ours: false, shared: null },
];

/** Which peers our stores are compared with: Redis peers for memory (and SQLite, the embedded default), Postgres peers for Postgres. */
export const PEER_KIND: Partial<Record<StoreKind, StoreKind>> = { memory: 'redis', sqlite: 'redis', postgres: 'postgres' };

/** Loads a target's adapter; peers are imported only by the child process that measures them. */
export async function loadAdapter(id: TargetId, scenario: string): Promise<Adapter> {
  switch (id) {
    case 'memory':
    case 'sqlite':
    case 'postgres':
      return (await import('../adapters/dispatch.js')).dispatchAdapter(id, scenario);
    case 'bullmq':
      return (await import('../adapters/bullmq.js')).bullmqAdapter();
    case 'pgboss':
    case 'pgboss-batch':
      return (await import('../adapters/pgboss.js')).pgbossAdapter(id === 'pgboss-batch');
    case 'graphile':
    case 'graphile-batch':
      return (await import('../adapters/graphile.js')).graphileAdapter(id === 'graphile-batch');
    case 'xstate':
      throw new Error('the bare XState target has only the floor scenario');
  }
}
