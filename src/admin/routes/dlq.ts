import { Hono } from 'hono';
import type { Dispatcher } from '../../engine/dispatcher.js';
import { notFound } from '../http-errors.js';
import { bodyOf, integerParam, onlyFields, queryOf, timeParam } from '../request.js';

/** The dead-letter queue: list, one, replay one or all, purge. */
export function dlqRoutes(dispatcher: Dispatcher): Hono {
  const app = new Hono();

  app.get('/', async (c) => {
    const q = queryOf(c, ['queue', 'name', 'limit', 'cursor']);
    return c.json(
      await dispatcher.jobs.list({
        state: 'dlq',
        ...(q.queue !== undefined ? { queue: q.queue } : {}),
        ...(q.name !== undefined ? { name: q.name } : {}),
        ...(q.limit !== undefined ? { limit: integerParam(q.limit, 'limit') } : {}),
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
      }),
    );
  });

  app.post('/replay', async (c) => {
    const body = await bodyOf(c);
    onlyFields(body, ['name', 'queue']);
    const replayed = await dispatcher.dlq.replayAll({
      ...(body.name !== undefined ? { name: body.name as string } : {}),
      ...(body.queue !== undefined ? { queue: body.queue as string } : {}),
    });
    return c.json({ replayed });
  });

  app.post('/purge', async (c) => {
    const body = await bodyOf(c);
    onlyFields(body, ['before']);
    const before = timeParam(body.before, 'before');
    return c.json({ purged: await dispatcher.dlq.purge({ before: before as Date }) });
  });

  app.get('/:id', async (c) => {
    queryOf(c, []);
    const id = c.req.param('id');
    const job = await dispatcher.getJob(id);
    if (!job) throw notFound(`no job with id "${id}"`);
    if (job.state !== 'dlq') throw notFound(`job ${id} is not in the DLQ (it is ${job.state})`);
    return c.json({ ...job, history: await dispatcher.jobs.history(id) });
  });

  app.post('/:id/replay', async (c) => c.json(await dispatcher.dlq.replay(c.req.param('id'))));

  return app;
}
