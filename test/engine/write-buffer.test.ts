import { describe, expect, it } from 'vitest';
import { WriteBuffer } from '../../src/engine/write-buffer.js';
import { memoryStore, StoreError, type TransitionWrite } from '../../src/index.js';

describe('write buffer', () => {
  it('tries a failed batch again, and answers it once the store is back', async () => {
    const store = memoryStore();
    await store.open();
    const [job] = await store.insert([{ name: 'n', queue: 'q', input: {}, inputJson: '{}', priority: 0, runAt: 0, maxRetries: 0, timeoutMs: 10 }]);
    let failures = 2;
    const write = store.write.bind(store);
    store.write = async (writes: readonly TransitionWrite[]) => {
      if (failures-- > 0) throw new StoreError('the database restarted');
      return write(writes);
    };
    const buffer = new WriteBuffer(store);
    expect(await buffer.writeAsync({ id: job!.id, from: 'pending', to: 'cancelled', token: null })).toBe(true);
    expect((await store.get(job!.id))!.state).toBe('cancelled');
  });

  it('gives up after a few tries, telling every write in the batch', async () => {
    const store = memoryStore();
    await store.open();
    store.write = async () => {
      throw new StoreError('gone for good');
    };
    const buffer = new WriteBuffer(store);
    const a = buffer.writeAsync({ id: '1', from: 'pending', to: 'cancelled' });
    const b = buffer.writeAsync({ id: '2', from: 'pending', to: 'cancelled' });
    await expect(a).rejects.toThrow('gone for good');
    await expect(b).rejects.toThrow('gone for good');
  }, 10_000);

  it('reports a failing batch as stalled until it lands, and a healthy one not at all', async () => {
    const store = memoryStore();
    await store.open();
    const jobs = await store.insert([0, 1, 2].map(() => ({ name: 'n', queue: 'q', input: {}, inputJson: '{}', priority: 0, runAt: 0, maxRetries: 0, timeoutMs: 10 })));
    let failures = 1;
    const write = store.write.bind(store);
    store.write = async (writes: readonly TransitionWrite[]) => {
      if (failures-- > 0) throw new StoreError('the database restarted');
      return write(writes);
    };
    const stalls: boolean[] = [];
    const buffer = new WriteBuffer(store, (stalled) => stalls.push(stalled));
    const answered = jobs.slice(0, 2).map((job) => buffer.writeAsync({ id: job.id, from: 'pending', to: 'cancelled', token: null }));
    expect(await Promise.all(answered)).toEqual([true, true]);
    expect(stalls).toEqual([true, false]);
    expect(await buffer.writeAsync({ id: jobs[2]!.id, from: 'pending', to: 'cancelled', token: null })).toBe(true);
    expect(stalls).toEqual([true, false]);
  });

  it('gathers the writes of one phase of the loop into one call when the store blocks, and of one callback otherwise', async () => {
    const calls = async (writesBlock: boolean) => {
      const store = memoryStore();
      await store.open();
      const jobs = await store.insert([0, 1, 2].map(() => ({ name: 'n', queue: 'q', input: {}, inputJson: '{}', priority: 0, runAt: 0, maxRetries: 0, timeoutMs: 10 })));
      Object.defineProperty(store, 'writesBlock', { value: writesBlock });
      const sizes: number[] = [];
      const write = store.write.bind(store);
      store.write = async (writes: readonly TransitionWrite[]) => {
        sizes.push(writes.length);
        return write(writes);
      };
      const buffer = new WriteBuffer(store);
      // Three handlers whose timers end together: Node runs the microtasks after each callback.
      const answered = await new Promise<Array<Promise<boolean>>>((resolve) => {
        const out: Array<Promise<boolean>> = [];
        for (const job of jobs) {
          setTimeout(() => {
            out.push(buffer.writeAsync({ id: job.id, from: 'pending', to: 'cancelled', token: null }));
            if (out.length === jobs.length) resolve(out);
          }, 0);
        }
      });
      expect(await Promise.all(answered)).toEqual([true, true, true]);
      return sizes;
    };
    expect(await calls(true)).toEqual([3]);
    // A store whose call is in flight gathers the rest meanwhile: the first goes alone.
    expect((await calls(false))[0]).toBe(1);
  });
});
