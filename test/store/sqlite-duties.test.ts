import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sqliteStore, type SqliteStore } from '../../src/index.js';
import { type Child, forkReady } from '../support/child-process.js';
import { until } from '../support/until.js';
import { tempDatabase } from './sqlite/temp-file.js';

const script = fileURLToPath(new URL('./sqlite/duty-holder.ts', import.meta.url));

describe('sqlite store: leader duties across processes', () => {
  let temp: ReturnType<typeof tempDatabase>;
  let store: SqliteStore;
  const children: Child[] = [];

  beforeEach(async () => {
    temp = tempDatabase();
    store = sqliteStore({ path: temp.path });
    await store.open();
  });

  afterEach(async () => {
    for (const { child } of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await store.close();
    temp.remove();
  });

  async function holder(mode: 'contend' | 'hold', options: { expiryMs: number; forMs?: number }): Promise<Child> {
    const child = await forkReady(script, [temp.path, mode, join(temp.dir, 'duty.log'), String(options.expiryMs), String(options.forMs ?? 0)]);
    children.push(child);
    return child;
  }

  /** The next message a child sends. */
  const said = (child: Child) => new Promise<unknown>((resolve) => child.child.once('message', resolve));

  it('two processes taking one duty over and over never run it at the same time', async () => {
    const contenders = [await holder('contend', { expiryMs: 10_000, forMs: 1500 }), await holder('contend', { expiryMs: 10_000, forMs: 1500 })];
    for (const { child } of contenders) child.send('go');
    for (const contender of contenders) expect(await contender.exited, contender.output()).toEqual({ code: 0, signal: null });

    const lines = readFileSync(join(temp.dir, 'duty.log'), 'utf8').trim().split('\n');
    let holding: string | null = null;
    for (const [i, line] of lines.entries()) {
      const [what, pid] = line.split(' ');
      if (what === 'start') {
        expect(holding, `line ${i}: ${pid} started while ${holding} held the duty`).toBeNull();
        holding = pid!;
      } else {
        expect(pid, `line ${i}`).toBe(holding);
        holding = null;
      }
    }
    // Both took turns: the duty went from one process to the other, not only to whoever came first.
    const pids = contenders.map(({ child }) => String(child.pid));
    for (const pid of pids) expect(lines.filter((l) => l === `start ${pid}`).length).toBeGreaterThan(5);
  }, 30_000);

  it('keeps a duty with its live holder past the expiry, and gives it to another once a killed holder’s claim expires', async () => {
    const expiryMs = 1000;
    const held = await holder('hold', { expiryMs });
    const holding = said(held);
    held.child.send('go');
    expect(await holding).toBe('holding');
    // Alive, the holder renews its claim: for three times the expiry nobody else gets the duty.
    const aliveUntil = Date.now() + 3 * expiryMs;
    while (Date.now() < aliveUntil) {
      expect(await store.withDuty('reaper', async () => undefined)).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    held.child.kill('SIGKILL');
    const killedAt = Date.now();
    expect(await held.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // Its last renewal was at most a third of the expiry ago: the claim still stands for a while.
    expect(await store.withDuty('reaper', async () => undefined)).toBe(false);
    let ran = false;
    await until(() => store.withDuty('reaper', async () => void (ran = true)), 'the killed holder’s claim to expire', 10_000, 20);
    expect(ran).toBe(true);
    expect(Date.now() - killedAt).toBeLessThan(expiryMs + 1000);
  }, 30_000);
});
