import type { Clock } from '../clock.js';
import { type Duration, toMs } from '../duration.js';

interface FakeTimer {
  id: number;
  at: number;
  run: () => void;
}

/** Turns of the event loop given to the work a timer starts (promise chains, store calls) before time moves again. */
const SETTLE_TURNS = 20;

/** Lets the work in flight run: a few turns of the event loop, with no time passing on the fake clock. */
export async function settle(): Promise<void> {
  for (let i = 0; i < SETTLE_TURNS; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * A clock that moves only when told. The engine reads it and sets every
 * timer on it (timeouts, sleeps, heartbeats, the reaper), so a test runs a
 * day of backoffs in milliseconds. Handlers' own timers stay real.
 */
export class FakeClock implements Clock {
  private time: number;
  private timers: FakeTimer[] = [];
  private seq = 0;

  constructor(start: number | Date = Date.now()) {
    this.time = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.time;
  }

  setTimeout(run: () => void, ms: number): unknown {
    const timer = { id: ++this.seq, at: this.time + Math.max(0, Number.isFinite(ms) ? ms : 0), run };
    // Kept in firing order: by time, then in the order set.
    let i = this.timers.length;
    while (i > 0 && this.timers[i - 1]!.at > timer.at) i--;
    this.timers.splice(i, 0, timer);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    const at = this.timers.findIndex((t) => t.id === handle);
    if (at >= 0) this.timers.splice(at, 1);
  }

  /** When the next timer fires; null when none is set. */
  nextAt(): number | null {
    return this.timers[0]?.at ?? null;
  }

  /**
   * Moves time forward by `duration`, firing each timer when its time comes,
   * in order, and letting the work it starts run before the next.
   */
  async advance(duration: Duration): Promise<void> {
    await this.advanceTo(this.time + toMs(duration, 'duration', 'stored'));
  }

  /** Moves time forward to `at` (never back), firing timers on the way. */
  async advanceTo(at: number): Promise<void> {
    await settle();
    for (let next = this.timers[0]; next && next.at <= at; next = this.timers[0]) {
      this.timers.shift();
      this.time = Math.max(this.time, next.at);
      next.run();
      await settle();
    }
    this.time = Math.max(this.time, at);
    await settle();
  }
}
