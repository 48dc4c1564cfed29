import { type Clock, systemClock, unref } from '../clock.js';

/** The longest a Node timer honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Runs `run` now and then again as `next` says, measured from the end of
 * each run (a service that sleeps until its next piece of work, like cron);
 * `poke` runs it again at once, or right after the run under way.
 */
export class Paced {
  private timer: unknown = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly run: () => Promise<unknown>,
    private readonly next: (result: unknown) => number,
    private readonly clock: Clock = systemClock,
  ) {
    this.pass();
  }

  poke(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.arm(0);
  }

  /** Stops it and waits for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
    await this.running;
  }

  private arm(ms: number): void {
    this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => this.pass(), Math.min(MAX_TIMER_MS, Math.max(0, ms)));
    unref(this.timer);
  }

  private pass(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.run().then((result) => {
      this.running = null;
      if (this.stopped) return;
      const ms = this.again ? 0 : this.next(result);
      this.again = false;
      this.arm(ms);
    });
  }
}
