/**
 * The dispatchers of this process that share one store, told when a job is
 * enqueued or back in the queue: the in-process stand-in for LISTEN/NOTIFY.
 */
export class WakeListeners {
  private readonly listeners = new Set<(runAt: number) => void>();

  subscribe(listener: (runAt: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get size(): number {
    return this.listeners.size;
  }

  notify(runAt: number): void {
    for (const listener of this.listeners) listener(runAt);
  }
}
