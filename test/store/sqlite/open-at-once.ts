/**
 * Opens a SQLite store at an agreed moment, so several processes open (and
 * migrate) one new file at once, then enqueues one job and exits.
 *
 * argv: <database path> <epoch ms to open at>
 */
import { sqliteStore } from '../../../src/index.js';

const [path, at] = process.argv.slice(2);
// Spin rather than sleep, to start as close to the agreed moment as the OS allows.
while (Date.now() < Number(at)) {}
const store = sqliteStore({ path: path! });
await store.open();
await store.insert([{ name: 'opened', queue: 'default', input: { pid: process.pid }, inputJson: JSON.stringify({ pid: process.pid }), priority: 0, runAt: Date.now(), maxRetries: 0, timeoutMs: 1000 }]);
await store.close();
