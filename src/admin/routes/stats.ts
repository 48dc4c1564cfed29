import { Hono } from 'hono';
import { JOB_STATES } from '../../../machines/job.machine.js';
import type { Dispatcher } from '../../engine/dispatcher.js';
import { queryOf } from '../request.js';
import type { ThroughputSampler } from '../throughput.js';

/** The overview: jobs counted by state, all queues and each, and throughput by minute. */
export function statsRoutes(dispatcher: Dispatcher, throughput: ThroughputSampler): Hono {
  const app = new Hono();
  app.get('/', async (c) => {
    queryOf(c, []);
    const queues = await dispatcher.queues.list();
    // Every job is in some queue: the totals are the queues' counts added up, one store read fewer.
    const counts = Object.fromEntries(JOB_STATES.map((state) => [state, queues.reduce((n, q) => n + q.counts[state], 0)]));
    return c.json({
      counts,
      queues: queues.map((q) => ({ name: q.name, paused: q.paused, counts: q.counts })),
      throughput: throughput.read(),
    });
  });
  return app;
}
