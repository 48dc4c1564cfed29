import { isResting, type TransitionWrite } from './contract.js';

/**
 * Who in this process waits for which job to come to rest: the listeners
 * `watchRest` registers, by job id. A store tells them of its own writes
 * directly, and of other processes' by whatever signal it has.
 */
export class RestWatchers {
  private readonly byId = new Map<string, Set<() => void>>();

  /** Adds a listener; `first` is true when it is the first for this id (a store may then register the id elsewhere). */
  add(id: string, listener: () => void): { first: boolean; remove: () => { last: boolean } } {
    let listeners = this.byId.get(id);
    const first = listeners === undefined;
    if (!listeners) {
      listeners = new Set();
      this.byId.set(id, listeners);
    }
    listeners.add(listener);
    let removed = false;
    return {
      first,
      remove: () => {
        if (removed) return { last: false };
        removed = true;
        listeners.delete(listener);
        if (listeners.size > 0 || this.byId.get(id) !== listeners) return { last: false };
        this.byId.delete(id);
        return { last: true };
      },
    };
  }

  /** Adds a listener, answering what removes it: a store's `watchRest` when its own writes are the only signal it needs. */
  watch(id: string, listener: () => void): () => void {
    const { remove } = this.add(id, listener);
    return () => void remove();
  }

  /** Tells the listeners of the jobs a batch of writes brought to rest (`applied`: which writes held). */
  written(writes: readonly TransitionWrite[], applied: readonly boolean[]): void {
    if (this.byId.size === 0) return;
    writes.forEach((write, i) => {
      if (applied[i] && isResting(write.to)) this.notify(write.id);
    });
  }

  get size(): number {
    return this.byId.size;
  }

  ids(): IterableIterator<string> {
    return this.byId.keys();
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Tells the listeners of `id`, if any; a listener that throws does not keep the others from hearing. */
  notify(id: string): void {
    const listeners = this.byId.get(id);
    if (!listeners) return;
    for (const listener of [...listeners]) {
      try {
        listener();
      } catch {
        // A listener's own failure is its caller's to report; the others must still hear.
      }
    }
  }

  /** Tells every listener: something may have been missed (a lost connection), so each should look. */
  notifyAll(): void {
    for (const id of [...this.byId.keys()]) this.notify(id);
  }
}
