import pg from 'pg';
import { StoreError } from '../contract.js';

export interface ListenerOptions {
  /** A connection of its own, held for as long as the listener runs. */
  connect: () => Promise<pg.PoolClient>;
  channel: string;
  notified: (payload: string | undefined) => void;
  /**
   * LISTEN is in effect, the first time or `again` after a loss: whatever was
   * sent before (while connecting, or while the connection was down) is gone.
   */
  listening: (again: boolean) => void;
  error: (error: unknown) => void;
}

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;

/**
 * LISTEN on a dedicated connection that comes back by itself: when the
 * connection drops, it reconnects with exponential backoff (jittered, up to
 * 5 s) and LISTENs again.
 */
export class Listener {
  /** The connection while LISTEN is in effect; `release` gives it back once only. */
  private current: { release: (error: Error | true) => void } | null = null;
  private running = false;
  /** Bumped on every connect and stop, so callbacks of an older connection do nothing. */
  private generation = 0;
  private failures = 0;
  /** A connection was lost since start(): the next LISTEN is a recovery. */
  private lost = false;
  private retry: NodeJS.Timeout | null = null;
  private waiters: Array<() => void> = [];

  constructor(private readonly options: ListenerOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.lost = false;
    void this.connect();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.generation++;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    // Destroyed rather than returned: the pool must not hand out a LISTENing connection.
    this.current?.release(true);
    this.current = null;
  }

  /** Resolves once LISTEN is in effect (at once if it is). */
  listening(): Promise<void> {
    if (this.current) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private async connect(): Promise<void> {
    const generation = ++this.generation;
    let client: pg.PoolClient;
    try {
      client = await this.options.connect();
    } catch (error) {
      if (generation === this.generation) this.failed(error);
      return;
    }
    if (generation !== this.generation) {
      client.release(true);
      return;
    }
    let released = false;
    const release = (error: Error | true) => {
      if (released) return;
      released = true;
      client.release(error);
    };
    const lost = (error: unknown) => {
      if (released) return;
      release(error instanceof Error ? error : true);
      if (generation !== this.generation) return;
      this.current = null;
      this.failed(error);
    };
    client.on('error', lost);
    client.on('end', () => lost(new Error('the connection ended')));
    client.on('notification', (message) => {
      if (message.channel === this.options.channel) this.options.notified(message.payload);
    });
    try {
      await client.query(`LISTEN ${pg.escapeIdentifier(this.options.channel)}`);
    } catch (error) {
      lost(error);
      return;
    }
    if (released) return;
    if (generation !== this.generation) {
      // Stopped while LISTEN was on its way.
      release(true);
      return;
    }
    this.current = { release };
    this.failures = 0;
    const again = this.lost;
    this.lost = false;
    for (const resolve of this.waiters.splice(0)) resolve();
    this.options.listening(again);
  }

  private failed(cause: unknown): void {
    if (!this.running) return;
    this.lost = true;
    this.options.error(new StoreError('postgres: the LISTEN connection failed; reconnecting', { cause }));
    const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.failures) * (0.5 + Math.random() / 2);
    this.failures++;
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.connect();
    }, delay);
    this.retry.unref();
  }
}
