import { Hono } from 'hono';
import type { Dispatcher } from '../../engine/dispatcher.js';
import { notFound } from '../http-errors.js';
import { queryOf } from '../request.js';

/** Cron schedules: list with their next tick, remove. */
export function scheduleRoutes(dispatcher: Dispatcher): Hono {
  const app = new Hono();
  app.get('/', async (c) => {
    queryOf(c, []);
    return c.json({ schedules: await dispatcher.schedules.list() });
  });
  app.delete('/:name', async (c) => {
    const name = c.req.param('name');
    if (!(await dispatcher.schedules.remove(name))) throw notFound(`no schedule named "${name}"`);
    return c.json({ removed: name });
  });
  return app;
}
