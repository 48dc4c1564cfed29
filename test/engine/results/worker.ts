/**
 * A worker process for the waitFor tests: runs `invoice` jobs on the store
 * the location names and reports, over IPC, when each completion is stored
 * (`{ completed: id, at }`, the time on this machine's clock). Says `ready`
 * once started; stops cleanly when told `stop`.
 *
 * argv: <location as JSON>
 */
import { createDispatcher, sqliteStore } from '../../../src/index.js';
import { postgresStore } from '../../../src/postgres.js';
import { invoice, type Location } from './jobs.js';

const location = JSON.parse(process.argv[2]!) as Location;
// A long poll: a prompt pickup or rest is the store's signal at work, not its poll.
const pollInterval = 30_000;
const dispatcher = createDispatcher({
  store:
    location.kind === 'sqlite'
      ? sqliteStore({ path: location.path, pollInterval })
      : postgresStore({ connectionString: location.url, schema: location.schema, migrate: false, pollInterval }),
  onError: (error, context) => console.error(`worker ${process.pid}: ${context}:`, error),
});
dispatcher.register(invoice);
dispatcher.events$.subscribe((event) => {
  if (event.to === 'completed') process.send!({ completed: event.jobId, at: Date.now() });
});
await dispatcher.start();
process.on('message', (message) => {
  if (message !== 'stop') return;
  void dispatcher.stop().then(() => process.disconnect());
});
process.send!('ready');
