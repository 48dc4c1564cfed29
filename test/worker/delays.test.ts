import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/testing/fake-clock.js';
import { type ArmedDelay, DelayQueue } from '../../src/worker/delays.js';

function queue() {
  const clock = new FakeClock(0);
  const fired: Array<[string, number]> = [];
  const delays = new DelayQueue<string>(clock, (d) => fired.push([`${d.owner}:${d.event}`, clock.now()]));
  return { clock, fired, delays };
}

describe('DelayQueue', () => {
  it('fires each delay when it falls due, earliest first across lengths, on one timer', async () => {
    const { clock, fired, delays } = queue();
    delays.arm('a', 't', 'TIMEOUT', 300);
    delays.arm('b', 't', 'TIMEOUT', 100);
    await clock.advance(50);
    delays.arm('c', 't', 'TIMEOUT', 300);
    delays.arm('d', 'b', 'BACKOFF', 100);
    expect(clock.nextAt()).toBe(100);
    await clock.advance(1000);
    expect(fired).toEqual([
      ['b:TIMEOUT', 100],
      ['d:BACKOFF', 150],
      ['a:TIMEOUT', 300],
      ['c:TIMEOUT', 350],
    ]);
    // Nothing armed: no timer is left to hold the process open.
    expect(clock.nextAt()).toBeNull();
  });

  it('never fires a cancelled delay, and lets its timer go when none is left', async () => {
    const { clock, fired, delays } = queue();
    const a = delays.arm('a', 't', 'TIMEOUT', 100);
    const b = delays.arm('b', 't', 'TIMEOUT', 100);
    delays.cancel(a);
    delays.cancel(a);
    await clock.advance(100);
    expect(fired).toEqual([['b:TIMEOUT', 100]]);
    const c = delays.arm('c', 't', 'TIMEOUT', 100);
    delays.cancel(c);
    expect(clock.nextAt()).toBeNull();
    expect(b.armed).toBe(false);
  });

  it('fires the next head on time when an earlier one was cancelled', async () => {
    const { clock, fired, delays } = queue();
    const first = delays.arm('a', 't', 'TIMEOUT', 100);
    await clock.advance(30);
    delays.arm('b', 't', 'TIMEOUT', 100);
    delays.cancel(first);
    await clock.advance(99);
    expect(fired).toEqual([]);
    await clock.advance(1);
    expect(fired).toEqual([['b:TIMEOUT', 130]]);
  });

  it('lets a delay that falls due arm and cancel others', async () => {
    const clock = new FakeClock(0);
    const fired: string[] = [];
    let later: ArmedDelay<string> | null = null;
    const delays: DelayQueue<string> = new DelayQueue<string>(clock, (d) => {
      fired.push(d.owner);
      if (d.owner === 'a') delays.arm('again', 't', 'X', 10);
      if (d.owner === 'b' && later) delays.cancel(later);
    });
    delays.arm('a', 't', 'X', 10);
    delays.arm('b', 't', 'X', 10);
    later = delays.arm('c', 't', 'X', 15);
    await clock.advance(100);
    expect(fired).toEqual(['a', 'b', 'again']);
  });

  it('keeps a lane small while cancelled delays pile up behind a long-armed one', async () => {
    const { clock, fired, delays } = queue();
    delays.arm('long', 't', 'TIMEOUT', 1000);
    for (let i = 0; i < 10_000; i++) delays.cancel(delays.arm(`job${i}`, 't', 'TIMEOUT', 1000));
    const lane = (delays as unknown as { lanes: Map<number, { items: unknown[] }> }).lanes.get(1000)!;
    expect(lane.items.length).toBeLessThan(1100);
    await clock.advance(1000);
    expect(fired).toEqual([['long:TIMEOUT', 1000]]);
  });

  it('waits at most as long as a timer can, and then again, for a very long delay', async () => {
    const { clock, fired, delays } = queue();
    const month = 31 * 24 * 3600 * 1000;
    delays.arm('a', 't', 'TIMEOUT', month);
    expect(clock.nextAt()).toBe(2 ** 31 - 1);
    await clock.advance(2 ** 31 - 1);
    expect(fired).toEqual([]);
    await clock.advance(month);
    expect(fired).toEqual([['a:TIMEOUT', month]]);
  });
});
