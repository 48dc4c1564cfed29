import type { Clock } from '../clock.js';
import { MAX_TIMER_MS } from '../duration.js';

/** A delay of the chart armed for a job this process holds. */
export interface ArmedDelay<T> {
  readonly owner: T;
  /** The chart's id of the delayed event, which a later step may cancel. */
  readonly id: string;
  readonly event: string;
  readonly delayMs: number;
  /** When it falls due, on the clock's time. */
  readonly at: number;
  /** False once it fired or was cancelled. */
  armed: boolean;
}

/** The delays of one length, in the order armed: the order they fall due. */
interface Lane<T> {
  items: Array<ArmedDelay<T>>;
  /** Items before it have fired or were cancelled. */
  head: number;
  armed: number;
}

/** Cancelled delays a lane may hold beyond twice its armed ones before it is compacted. */
const SLACK = 1024;

/**
 * The delays of the jobs a runner holds, on one timer of the clock. Nearly
 * every job arms its timeout when its handler starts and clears it when the
 * handler ends; a system timer for each (a Timeout object, a closure, a place
 * in Node's lists, armed and then cleared) was a measurable part of a job's
 * cost on the memory store. Delays of one length armed one after another
 * fall due in the order armed, so each length is a queue, and the one timer
 * waits for the earliest of their heads. A delay is measured on the engine's
 * clock, as leases and run times are.
 */
export class DelayQueue<T> {
  private readonly lanes = new Map<number, Lane<T>>();
  private armedCount = 0;
  private handle: unknown = null;
  private handleAt = Infinity;

  constructor(
    private readonly clock: Clock,
    /** Called for each delay that falls due, earliest first; it may arm and cancel others. */
    private readonly fire: (delay: ArmedDelay<T>) => void,
  ) {}

  arm(owner: T, id: string, event: string, delayMs: number): ArmedDelay<T> {
    const delay: ArmedDelay<T> = { owner, id, event, delayMs, at: this.clock.now() + delayMs, armed: true };
    let lane = this.lanes.get(delayMs);
    if (!lane) this.lanes.set(delayMs, (lane = { items: [], head: 0, armed: 0 }));
    lane.items.push(delay);
    lane.armed++;
    this.armedCount++;
    if (delay.at < this.handleAt) this.wakeAt(delay.at);
    return delay;
  }

  cancel(delay: ArmedDelay<T>): void {
    if (!delay.armed) return;
    delay.armed = false;
    this.armedCount--;
    const lane = this.lanes.get(delay.delayMs)!;
    lane.armed--;
    this.tidy(delay.delayMs, lane);
    // Nothing left to wait for: the timer must not keep the process alive.
    if (this.armedCount === 0) this.sleep();
  }

  private run(): void {
    this.handle = null;
    this.handleAt = Infinity;
    const now = this.clock.now();
    const due: Array<ArmedDelay<T>> = [];
    for (const [length, lane] of this.lanes) {
      while (lane.head < lane.items.length) {
        const delay = lane.items[lane.head]!;
        if (delay.armed && delay.at > now) break;
        lane.head++;
        if (!delay.armed) continue;
        delay.armed = false;
        lane.armed--;
        this.armedCount--;
        due.push(delay);
      }
      this.tidy(length, lane);
    }
    if (due.length > 1) due.sort((a, b) => a.at - b.at);
    try {
      for (const delay of due) this.fire(delay);
    } finally {
      const next = this.earliest();
      if (next < this.handleAt) this.wakeAt(next);
    }
  }

  private earliest(): number {
    let at = Infinity;
    for (const lane of this.lanes.values()) {
      const head = lane.items[lane.head];
      if (head && head.at < at) at = head.at;
    }
    return at;
  }

  private wakeAt(at: number): void {
    if (this.handle !== null) this.clock.clearTimeout(this.handle);
    this.handleAt = at;
    // A longer wait would overflow Node's timer: it wakes early, finds nothing due, and waits again.
    const inMs = Math.min(MAX_TIMER_MS, Math.max(0, at - this.clock.now()));
    this.handle = this.clock.setTimeout(() => this.run(), inMs);
  }

  /** Drops fired and cancelled delays from the lane's head (the lane itself when it is empty), and compacts it when cancelled ones pile up behind a long one. */
  private tidy(length: number, lane: Lane<T>): void {
    while (lane.head < lane.items.length && !lane.items[lane.head]!.armed) lane.head++;
    if (lane.armed === 0) this.lanes.delete(length);
    else if (lane.items.length - lane.head > 2 * lane.armed + SLACK) {
      lane.items = lane.items.filter((d, i) => i >= lane.head && d.armed);
      lane.head = 0;
    } else if (lane.head > SLACK && lane.head * 2 > lane.items.length) {
      lane.items = lane.items.slice(lane.head);
      lane.head = 0;
    }
  }

  private sleep(): void {
    if (this.handle !== null) this.clock.clearTimeout(this.handle);
    this.handle = null;
    this.handleAt = Infinity;
  }
}
