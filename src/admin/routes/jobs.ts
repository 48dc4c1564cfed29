import { Hono } from 'hono';
import type { Dispatcher } from '../../engine/dispatcher.js';
import type { JobState } from '../../../machines/job.machine.js';
import { jobRules } from '../../../machines/job.rules.js';
import { httpError, notFound } from '../http-errors.js';
import { bodyOf, integerParam, onlyFields, queryOf, timeParam } from '../request.js';

/** States a job waits in, which RESCHEDULE takes: "retry now" moves it to now. */
const WAITING: ReadonlySet<JobState> = new Set(jobRules.rescheduleFrom);
/** States a job ended dead in, which REPLAY takes: "retry now" replays it. */
const DEAD: ReadonlySet<JobState> = new Set(jobRules.replayFrom);

/** Listing jobs, one job with its history, and what can be done to one. */
export function jobRoutes(dispatcher: Dispatcher): Hono {
  const app = new Hono();

  app.get('/', async (c) => {
    const q = queryOf(c, ['state', 'queue', 'name', 'limit', 'cursor']);
    const page = await dispatcher.jobs.list({
      state: q.state as JobState,
      ...(q.queue !== undefined ? { queue: q.queue } : {}),
      ...(q.name !== undefined ? { name: q.name } : {}),
      ...(q.limit !== undefined ? { limit: integerParam(q.limit, 'limit') } : {}),
      ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
    });
    return c.json(page);
  });

  app.get('/:id', async (c) => {
    queryOf(c, []);
    const id = c.req.param('id');
    const job = await dispatcher.getJob(id);
    if (!job) throw notFound(`no job with id "${id}"`);
    return c.json({ ...job, history: await dispatcher.jobs.history(id) });
  });

  app.post('/:id/cancel', async (c) => c.json(await dispatcher.cancel(c.req.param('id'))));

  app.post('/:id/retry', async (c) => {
    const id = c.req.param('id');
    const job = await dispatcher.getJob(id);
    if (!job) throw notFound(`no job with id "${id}"`);
    if (WAITING.has(job.state)) return c.json(await dispatcher.reschedule(id, { runAt: new Date() }));
    if (DEAD.has(job.state)) return c.json(await dispatcher.dlq.replay(id));
    throw httpError(409, `job ${id} is ${job.state}: only a waiting job (${[...WAITING].join(', ')}) or a dead one (${[...DEAD].join(', ')}) can be retried`);
  });

  app.post('/:id/reschedule', async (c) => {
    const body = await bodyOf(c);
    onlyFields(body, ['runAt', 'priority']);
    const runAt = timeParam(body.runAt, 'runAt');
    return c.json(
      await dispatcher.reschedule(c.req.param('id'), {
        ...(runAt !== undefined ? { runAt } : {}),
        ...(body.priority !== undefined ? { priority: body.priority as number } : {}),
      }),
    );
  });

  return app;
}
