/**
 * A process taking the `reaper` duty on a SQLite file, for the duty tests.
 * Says `ready` once the store is open and waits for `go`, so processes start
 * together. Then, by mode:
 * - `contend`: for `forMs`, takes the duty again and again; each run writes
 *   `start <pid>` and `end <pid>` to the log (one write(2) each, so lines of
 *   two processes do not mix) around a few milliseconds of work. Exits 0.
 * - `hold`: takes the duty, says `holding`, and never lets it go.
 *
 * argv: <database path> <contend | hold> <log path> <dutyExpiry ms> <forMs>
 */
import { openSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { sqliteStore } from '../../../src/index.js';

const [path, mode, log, expiry, forMs] = process.argv.slice(2);
const store = sqliteStore({ path: path!, dutyExpiry: Number(expiry) });
await store.open();
const out = openSync(log!, 'a');
const go = new Promise<void>((resolve) => process.once('message', () => resolve()));
process.send!('ready');
await go;

if (mode === 'hold') {
  // Keeps the process alive: the store's renewal timer does not, by design.
  setInterval(() => {}, 1000);
  const took = await store.withDuty('reaper', async () => {
    process.send!('holding');
    await new Promise(() => {});
  });
  process.send!(`took ${took}`);
} else {
  const until = Date.now() + Number(forMs);
  while (Date.now() < until) {
    await store.withDuty('reaper', async () => {
      writeSync(out, `start ${process.pid}\n`);
      await sleep(2 + Math.random() * 5);
      writeSync(out, `end ${process.pid}\n`);
    });
    await sleep(Math.random() * 2);
  }
  await store.close();
  process.disconnect();
}
