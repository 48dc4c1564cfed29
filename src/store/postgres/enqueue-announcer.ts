import { randomUUID } from 'node:crypto';

/** How an announcement of enqueues on the jobs channel begins: this, the announcing store's origin, ':', the earliest runAt. */
export const ENQUEUED_PAYLOAD = 'enqueued:';

/**
 * How this store's enqueues on its pool reach the other processes, and how
 * it knows their echoes. A NOTIFY sent inside the inserting transaction holds
 * a database-wide lock from before its commit until the commit is durable, so
 * concurrent notifying inserts took their WAL flushes one at a time. So a
 * statement that carries the inserts of several callers (gathered while
 * another was under way) notifies nothing in its transaction, and is announced
 * here once its commit is done: the commits of one turn of the event loop
 * share one announcement, of their earliest runAt, in a transaction that waits
 * for no flush. A lone caller's insert notifies in its transaction as before
 * (an announcement would cost it a round trip), tagged with this store's origin. Either way this process's own
 * workers were woken when the insert returned, so a notification that names
 * this store's origin is its own echo, and is passed over.
 *
 * A process that dies between a commit and its announcement leaves the jobs
 * unannounced: the other processes' poll finds them.
 */
export class EnqueueAnnouncer {
  /** Names this store in its announcements and in the notifications its own inserts send. */
  readonly origin = randomUUID();
  private earliest: number | null = null;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly send: (payload: string) => Promise<unknown>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Jobs due from `runAt` were committed on the pool. */
  committed(runAt: number): void {
    if (this.earliest === null) setImmediate(() => this.flush());
    this.earliest = Math.min(this.earliest ?? Infinity, runAt);
  }

  /** For an announcement: the runAt to wake at, or null when it is this store's own. */
  heard(payload: string): number | null {
    const rest = payload.slice(ENQUEUED_PAYLOAD.length);
    const colon = rest.lastIndexOf(':');
    if (rest.slice(0, colon) === this.origin) return null;
    const runAt = Number(rest.slice(colon + 1));
    return Number.isFinite(runAt) ? runAt : Date.now();
  }

  /** Sends what is gathered now and waits for every announcement under way: before the pool closes. */
  async drain(): Promise<void> {
    this.flush();
    await Promise.all(this.inFlight);
  }

  private flush(): void {
    if (this.earliest === null) return;
    const payload = `${ENQUEUED_PAYLOAD}${this.origin}:${this.earliest}`;
    this.earliest = null;
    const sent = this.send(payload).then(
      () => undefined,
      (error: unknown) => this.onError(error),
    );
    this.inFlight.add(sent);
    void sent.finally(() => this.inFlight.delete(sent));
  }
}
