/**
 * Enqueues one unique key many times at once, when told to: a process of the
 * two-process race in unique-race.test.ts. Says 'ready' once its store is
 * open, then on 'go' fires its enqueues together and sends back what each
 * answered.
 *
 * argv: sqlite <path> | postgres <url> <schema>; then <key> <count>
 */
import { z } from 'zod';
import { createDispatcher, defineJob, sqliteStore, type Store } from '../../src/index.js';
import { postgresStore } from '../../src/postgres.js';

const [kind, location, ...rest] = process.argv.slice(2);
const schema = kind === 'postgres' ? rest.shift()! : undefined;
const [key, count] = [rest[0]!, Number(rest[1])];
const store: Store =
  kind === 'postgres' ? postgresStore({ connectionString: location!, schema: schema!, migrate: false }) : sqliteStore({ path: location! });
const sync = defineJob({ name: 'sync', input: z.object({ from: z.number(), i: z.number() }), handler: () => {} });
const dispatcher = createDispatcher({ store }).register(sync);
await dispatcher.counts();
process.send!('ready');
process.once('message', async () => {
  const answers = await Promise.all(
    Array.from({ length: count }, (_, i) => dispatcher.enqueue(sync, { from: process.pid, i }, { key, onConflict: 'replace' })),
  );
  process.send!(answers.map((a) => ({ id: a.id, duplicate: a.duplicate === true })));
  await dispatcher.stop();
  process.disconnect();
});
