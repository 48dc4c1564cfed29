/**
 * Enqueues jobs with unique keys without end (fifty keys, replaced over and
 * over, some debounced), ten calls in flight, until it is killed: the
 * victim of keys-killed.test.ts. Says 'ready' once the store is open and
 * prints a line per answered enqueue.
 *
 * argv: sqlite <path> | postgres <url> <schema>
 */
import { z } from 'zod';
import { createDispatcher, defineJob, sqliteStore, type Store } from '../../../src/index.js';
import { postgresStore } from '../../../src/postgres.js';

const [kind, location, schema] = process.argv.slice(2);
const store: Store =
  kind === 'postgres' ? postgresStore({ connectionString: location!, schema: schema!, migrate: false }) : sqliteStore({ path: location! });
const sync = defineJob({ name: 'sync', input: z.object({ n: z.number() }), handler: () => {} });
const dispatcher = createDispatcher({ store }).register(sync);
await dispatcher.counts();
process.send!('ready');
let n = 0;
await Promise.all(
  Array.from({ length: 10 }, async () => {
    for (;;) {
      const i = n++;
      const key = `k${i % 50}`;
      await dispatcher.enqueue(sync, { n: i }, i % 3 === 0 ? { key, debounce: '1h' } : { key, onConflict: i % 3 === 1 ? 'replace' : 'ignore' });
      process.stdout.write(`enqueued ${i}\n`);
    }
  }),
);
