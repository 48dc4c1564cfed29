import type { LeasedJob, LeaseOffer, LeaseRequest, NewJob } from './contract.js';

/** An offer an insert has taken: the insert settles it with what it leased (or nothing). */
export interface TakenOffer {
  request: LeaseRequest;
  settle(jobs: LeasedJob[]): void;
}

interface Posted {
  request: LeaseRequest;
  handed: (jobs: LeasedJob[]) => void;
  /** Set once an insert takes the offer: settled when that insert is done. */
  taken: Promise<void> | null;
}

/**
 * The idle workers' offers a store holds (see Store.offer), and which one a
 * lone insert may take. What only the database can tell (is the job due by
 * its clock, is its queue open, does a job come before it) the insert's
 * statement decides; this rules out, without a round trip, jobs no lease of
 * the offer could take.
 */
export class LeaseOffers {
  private readonly posted = new Set<Posted>();

  post(request: LeaseRequest, handed: (jobs: LeasedJob[]) => void): LeaseOffer {
    const entry: Posted = { request, handed, taken: null };
    this.posted.add(entry);
    return {
      withdraw: () => {
        this.posted.delete(entry);
        return entry.taken;
      },
    };
  }

  /** The first offer that could lease `job`, now taken (no other insert can take it); null when none could. */
  take(job: NewJob, now: number): TakenOffer | null {
    if (job.group != null || job.unique !== undefined || job.runAt > now) return null;
    for (const entry of this.posted) {
      const { request } = entry;
      if (request.limit < 1 || !request.names.includes(job.name) || job.queue in request.queueRoom) continue;
      if (request.queues !== undefined && !request.queues.includes(job.queue)) continue;
      this.posted.delete(entry);
      let done!: () => void;
      entry.taken = new Promise((resolve) => (done = resolve));
      return {
        request,
        settle: (jobs) => {
          if (jobs.length > 0) entry.handed(jobs);
          done();
        },
      };
    }
    return null;
  }
}
