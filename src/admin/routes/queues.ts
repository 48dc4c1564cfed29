import { Hono } from 'hono';
import type { Dispatcher, QueueConfig } from '../../engine/dispatcher.js';
import { bodyOf, queryOf } from '../request.js';

/** Queues: list with counts, pause, resume, configure (the library checks every field). */
export function queueRoutes(dispatcher: Dispatcher): Hono {
  const app = new Hono();
  app.get('/', async (c) => {
    queryOf(c, []);
    return c.json({ queues: await dispatcher.queues.list() });
  });
  app.post('/:name/pause', async (c) => c.json(await dispatcher.queues.pause(c.req.param('name'))));
  app.post('/:name/resume', async (c) => c.json(await dispatcher.queues.resume(c.req.param('name'))));
  app.patch('/:name', async (c) => c.json(await dispatcher.queues.configure(c.req.param('name'), (await bodyOf(c)) as QueueConfig)));
  return app;
}
