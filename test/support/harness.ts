import { createDispatcher, type Dispatcher, type DispatcherOptions, type TransitionEvent } from '../../src/index.js';

/** A dispatcher whose every stored transition is recorded, plus a way to wait for one. */
export function harness(options: DispatcherOptions = {}) {
  const errors: unknown[] = [];
  const dispatcher: Dispatcher = createDispatcher({
    onError: (error) => errors.push(error),
    ...options,
  });
  const events: TransitionEvent[] = [];
  const waiters: Array<{ test: (e: TransitionEvent) => boolean; resolve: (e: TransitionEvent) => void }> = [];
  dispatcher.events$.subscribe((event) => {
    events.push(event);
    for (const waiter of [...waiters]) {
      if (waiter.test(event)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(event);
      }
    }
  });
  /** Resolves with the first event (already seen or still to come) that passes `test`. */
  const next = (test: (e: TransitionEvent) => boolean): Promise<TransitionEvent> => {
    const seen = events.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => waiters.push({ test, resolve }));
  };
  const reached = (jobId: string, to: TransitionEvent['to']) => next((e) => e.jobId === jobId && e.to === to);
  return { dispatcher, events, errors, next, reached };
}

/** A promise with its resolve and reject at hand. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
