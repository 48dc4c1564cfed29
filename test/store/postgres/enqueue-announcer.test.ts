import { describe, expect, it } from 'vitest';
import { EnqueueAnnouncer, ENQUEUED_PAYLOAD } from '../../../src/store/postgres/enqueue-announcer.js';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

function announcer(send: (payload: string) => Promise<unknown> = async () => undefined) {
  const sent: string[] = [];
  const errors: unknown[] = [];
  const a = new EnqueueAnnouncer(
    (payload) => {
      sent.push(payload);
      return send(payload);
    },
    (error) => errors.push(error),
  );
  return { a, sent, errors };
}

describe('EnqueueAnnouncer', () => {
  it('sends one announcement for the commits of one turn, carrying the earliest runAt', async () => {
    const { a, sent } = announcer();
    a.committed(500);
    a.committed(300);
    a.committed(400);
    expect(sent).toEqual([]);
    await turn();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(new RegExp(`^${ENQUEUED_PAYLOAD}.+:300$`));
    a.committed(900);
    await turn();
    expect(sent).toHaveLength(2);
    expect(sent[1]).toMatch(/:900$/);
  });

  it("passes over its own announcement and answers another store's runAt", async () => {
    const { a, sent } = announcer();
    const { a: b, sent: theirs } = announcer();
    a.committed(1234);
    b.committed(5678);
    await turn();
    expect(a.heard(sent[0]!)).toBeNull();
    expect(a.heard(theirs[0]!)).toBe(5678);
    expect(b.heard(sent[0]!)).toBe(1234);
  });

  it('answers now for an announcement whose runAt it cannot read', () => {
    const { a } = announcer();
    const before = Date.now();
    expect(a.heard(`${ENQUEUED_PAYLOAD}someone:soon`)).toBeGreaterThanOrEqual(before);
  });

  it('drain sends what is gathered at once and waits for every send under way', async () => {
    let release = () => {};
    const { a, sent } = announcer(() => new Promise<void>((resolve) => (release = resolve)));
    a.committed(42);
    let drained = false;
    const draining = a.drain().then(() => (drained = true));
    expect(sent).toHaveLength(1);
    await turn();
    expect(drained).toBe(false);
    release();
    await draining;
    // The turn's own flush finds nothing left to send.
    await turn();
    expect(sent).toHaveLength(1);
  });

  it('tells a failed send to onError, not to the enqueue that already committed', async () => {
    const failure = new Error('connection lost');
    const { a, errors } = announcer(() => Promise.reject(failure));
    a.committed(7);
    await a.drain();
    expect(errors).toEqual([failure]);
  });
});
