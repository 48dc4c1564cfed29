/**
 * Runs 20 producers on one SQLite file, each enqueueing one job at a time and
 * printing "resolved <id> <producer> <i>" once its enqueue's promise has
 * resolved, until the test kills it.
 *
 * argv: <database path>
 */
import { z } from 'zod';
import { createDispatcher, defineJob, sqliteStore } from '../../../src/index.js';

const mark = defineJob({ name: 'mark', input: z.object({ p: z.number(), i: z.number() }), handler: () => {} });
const dispatcher = createDispatcher({ store: sqliteStore({ path: process.argv[2]! }) });
dispatcher.register(mark);

await Promise.all(
  Array.from({ length: 20 }, async (_, p) => {
    for (let i = 0; ; i++) {
      const record = await dispatcher.enqueue(mark, { p, i });
      // Pipes are written synchronously on Linux, so this line is out before the next enqueue starts.
      process.stdout.write(`resolved ${record.id} ${p} ${i}\n`);
    }
  }),
);
