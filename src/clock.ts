/**
 * Where the engine reads the time and sets its timers: the job timeouts, the
 * supervisor's sleeps, heartbeats, the reaper, retried writes and waits.
 * The system's unless a test gives its own (`dispatch-ts/testing`'s fake
 * clock), so a test can move time instead of waiting for it. The shape is
 * the one xstate's `createActor({ clock })` takes.
 */
export interface Clock {
  now(): number;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

// Looked up at each call, not kept: a test's fake timers (vi.useFakeTimers) replace the globals later.
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (run, ms) => setTimeout(run, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Lets a system timer not hold the process open; a fake clock's handle has nothing to let go of. */
export function unref(handle: unknown): void {
  (handle as { unref?: () => void } | null)?.unref?.();
}
