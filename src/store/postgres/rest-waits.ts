import { randomUUID } from 'node:crypto';
import type { TransitionWrite } from '../contract.js';
import { RestWatchers } from '../rest-watchers.js';
import { isRowId } from './rows.js';
import { REST_PAYLOAD } from './statements.js';

export interface RestWaitsOptions {
  /** Writes this store's waiter row for a job (idempotent). */
  add: (id: string, waiter: string) => Promise<void>;
  /** Deletes it (idempotent). */
  remove: (id: string, waiter: string) => Promise<void>;
  /** Starts LISTEN if it is not running and resolves once it is in effect. */
  listen: () => Promise<void>;
  /** Nobody here waits any more: LISTEN may stop unless something else needs it. */
  idle: () => void;
  error: (error: unknown) => void;
}

/**
 * The jobs this store's callers wait on to come to rest, on Postgres. A wait
 * is a row in `rest_waiters`, written once LISTEN is in effect; the write
 * that brings the job to rest deletes the rows and sends a NOTIFY naming the
 * job, heard by every process. Writes through this store tell its waiters at
 * once, without waiting for the notification to come back.
 */
export class RestWaits {
  private readonly watchers = new RestWatchers();
  /** The waiter row's last change in flight, by job id: adds and removes of one id go in order. */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** This store instance, in its rows: another process's wait on the same job keeps its own row. */
  private readonly waiter = randomUUID();

  constructor(private readonly options: RestWaitsOptions) {}

  get size(): number {
    return this.watchers.size;
  }

  async watch(id: string, listener: () => void): Promise<() => void> {
    const { first, remove } = this.watchers.add(id, listener);
    const stop = () => {
      if (!remove().last) return;
      if (isRowId(id)) this.sync(id).catch((error: unknown) => this.options.error(error));
      if (this.watchers.size === 0) this.options.idle();
    };
    try {
      await this.options.listen();
      // An id no row can have has no waiter row either: the caller's get answers it.
      if (isRowId(id)) await (first ? this.sync(id) : (this.inFlight.get(id) ?? Promise.resolve()));
    } catch (error) {
      stop();
      throw error;
    }
    return stop;
  }

  /** Tells the waiters of jobs this store's own write brought to rest. */
  written(writes: readonly TransitionWrite[], applied: readonly boolean[]): void {
    this.watchers.written(writes, applied);
  }

  /** Handles a notification on the jobs channel if it tells of a rest; answers whether it did. */
  notified(payload: string | undefined): boolean {
    if (!payload?.startsWith(REST_PAYLOAD)) return false;
    this.watchers.notify(payload.slice(REST_PAYLOAD.length));
    return true;
  }

  /** LISTEN is back after a loss: a rest may have gone unheard, so every waiter looks. */
  relistened(): void {
    this.watchers.notifyAll();
  }

  /** Resolves once every waiter row change on its way has landed (or failed): a closing store waits for them. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()]);
  }

  /** Brings the waiter row in line with whether anyone here still waits, after any change already on its way. */
  private sync(id: string): Promise<void> {
    const previous = this.inFlight.get(id) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(() => (this.watchers.has(id) ? this.options.add(id, this.waiter) : this.options.remove(id, this.waiter)));
    this.inFlight.set(id, next);
    const settled = () => {
      if (this.inFlight.get(id) === next) this.inFlight.delete(id);
    };
    next.then(settled, settled);
    return next;
  }
}
