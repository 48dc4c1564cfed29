/**
 * Enqueues batches of jobs into a SQLite file without end, printing
 * "resolved <batch> <size>" once each enqueue's promise has resolved, until
 * the test kills it.
 *
 * argv: <database path>
 */
import { z } from 'zod';
import { createDispatcher, defineJob, sqliteStore } from '../../../src/index.js';

const mark = defineJob({ name: 'mark', input: z.object({ batch: z.number(), i: z.number() }), handler: () => {} });
const dispatcher = createDispatcher({ store: sqliteStore({ path: process.argv[2]! }) });
dispatcher.register(mark);

for (let batch = 0; ; batch++) {
  const size = 1 + (batch % 7) * 300;
  await dispatcher.enqueueMany(mark, Array.from({ length: size }, (_, i) => ({ batch, i })));
  // Pipes are written synchronously on Linux, so this line is out before the next enqueue starts.
  process.stdout.write(`resolved ${batch} ${size}\n`);
}
