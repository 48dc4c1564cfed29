/**
 * A process that replays the whole DLQ of a schema when told `go`, and sends
 * back how many jobs it replayed; for the test of replays racing across processes.
 *
 * argv: <database URL> <schema>
 */
import { createDispatcher } from '../../../src/index.js';
import { postgresStore } from '../../../src/postgres.js';

const [url, schema] = process.argv.slice(2);
const dispatcher = createDispatcher({ store: postgresStore({ connectionString: url!, schema: schema! }), retention: false });
await dispatcher.counts(); // opens the store before the race starts
process.on('message', async (message) => {
  if (message !== 'go') return;
  const replayed = await dispatcher.dlq.replayAll();
  process.send!({ replayed });
  await dispatcher.stop();
  process.exit(0);
});
process.send!('ready');
