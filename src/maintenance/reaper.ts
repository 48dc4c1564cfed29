import type { JobEvent } from '../../machines/job.machine.js';
import type { Store, StoredJob } from '../store/contract.js';
import type { MaintenanceService } from './service.js';

const LEASE_EXPIRED: JobEvent = Object.freeze({ type: 'LEASE_EXPIRED' });

export interface ReaperParts {
  store: Store;
  everyMs: number;
  /** Sends LEASE_EXPIRED to the job if this process holds it under that lease; null if it does not. */
  sendLocal(id: string, event: JobEvent, token: string | null): Promise<void> | null;
  /** Moves a job nobody here holds as the chart decides; truthy when the write held. */
  apply(job: StoredJob, event: JobEvent): Promise<unknown>;
}

/**
 * Returns jobs whose worker stopped heartbeating (it died) to the queue, or
 * to the DLQ when they have no attempts left: the chart's LEASE_EXPIRED.
 */
export function reaper(parts: ReaperParts): MaintenanceService {
  return {
    name: 'reaper',
    everyMs: parts.everyMs,
    async run() {
      let moved = 0;
      for (const job of await parts.store.expired(100)) {
        // A lease of ours that ran out (a stalled event loop): our own runner takes the event. Only that
        // lease: the row may be stale, the job since reaped elsewhere and leased to us afresh.
        const local = parts.sendLocal(job.id, LEASE_EXPIRED, job.leaseToken);
        if (local) await local;
        else if (await parts.apply(job, LEASE_EXPIRED)) moved++;
      }
      return moved;
    },
  };
}
