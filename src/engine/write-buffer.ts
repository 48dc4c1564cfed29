import type { Store, TransitionWrite } from '../store/contract.js';

interface Pending {
  write: TransitionWrite;
  resolve: (applied: boolean) => void;
  reject: (error: unknown) => void;
}

/**
 * Gathers the transition writes made in one turn of the event loop into one
 * store call, and keeps gathering while that call is in flight: under load a
 * round trip carries many completions.
 */
export class WriteBuffer {
  private queued: Pending[] = [];
  private flushing = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly store: Store) {}

  write(write: TransitionWrite): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.queued.push({ write, resolve, reject });
      if (!this.flushing && this.queued.length === 1) queueMicrotask(() => this.flush());
    });
  }

  /** Resolves once every write handed in so far has been answered. */
  idle(): Promise<void> {
    if (!this.flushing && this.queued.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    while (this.queued.length > 0) {
      const batch = this.queued;
      this.queued = [];
      try {
        const applied = await this.store.write(batch.map((p) => p.write));
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(applied[i] === true);
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
    this.flushing = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
