import { Hono } from 'hono';
import { prometheusMetrics } from '../observability/prometheus.js';
import { jobMachine } from '../../machines/job.machine.js';
import { jobRules } from '../../machines/job.rules.js';
import type { Dispatcher } from '../engine/dispatcher.js';
import { refuseChanges, refuseCrossSite, requireToken } from './auth.js';
import { type ChartLayout, layoutChart } from './chart-layout.js';
import { eventStream } from './event-stream.js';
import { errorResponse, httpError } from './http-errors.js';
import { type AdminOptions, parseAdminOptions } from './options.js';
import { queryOf } from './request.js';
import { dlqRoutes } from './routes/dlq.js';
import { jobRoutes } from './routes/jobs.js';
import { queueRoutes } from './routes/queues.js';
import { scheduleRoutes } from './routes/schedules.js';
import { statsRoutes } from './routes/stats.js';
import { ThroughputSampler } from './throughput.js';
import { uiRoutes } from './ui-assets.js';

/** The admin app, and what ends its background work (the throughput sampler, open event streams). */
export interface AdminApp {
  app: Hono;
  close(): void;
}

/** The chart's drawing, laid out once per process: the chart does not change while it runs. */
let chartLayout: Promise<ChartLayout> | null = null;

/**
 * The admin HTTP API and the dashboard, as one Hono app. The route table:
 *
 *   GET    /                        the dashboard (its files under /assets/)
 *   GET    /api/info                what the dashboard needs to know of this server (and the chart's states)
 *   GET    /api/stats               counts by state and queue, throughput by minute
 *   GET    /api/jobs                ?state (required) &queue &name &limit &cursor
 *   GET    /api/jobs/:id            the job, with its history
 *   POST   /api/jobs/:id/cancel | /retry | /reschedule {runAt, priority}
 *   GET    /api/dlq                 ?queue &name &limit &cursor
 *   POST   /api/dlq/replay {name, queue}    POST /api/dlq/purge {before}
 *   GET    /api/dlq/:id             POST /api/dlq/:id/replay
 *   GET    /api/queues              POST /api/queues/:name/pause | /resume   PATCH /api/queues/:name
 *   GET    /api/schedules           DELETE /api/schedules/:name
 *   GET    /api/chart               the job chart, laid out to draw
 *   GET    /api/events              Server-Sent Events: this process's steps (?job= to follow one)
 *   GET    /metrics                 Prometheus text (prometheusMetrics unless `options.metrics` says otherwise)
 */
export function createAdmin(dispatcher: Dispatcher, options?: AdminOptions): AdminApp {
  const settings = parseAdminOptions(options);
  const metrics = settings.metrics === false ? null : (settings.metrics ?? prometheusMetrics(dispatcher));
  const closing = new AbortController();
  const throughput = new ThroughputSampler(() => dispatcher.counts(), settings.sampleEveryMs, settings.onError);
  throughput.start();

  const app = new Hono();
  app.onError((error, c) => errorResponse(error, c, settings.onError));
  app.notFound((c) => c.json({ error: { status: 404, message: `no route ${c.req.method} ${c.req.path}` } }, 404));

  // The stream first, with its own check: it alone may take the token as ?token= (EventSource
  // cannot send headers), and a route that answers ends the chain before the /api/* check below.
  if (settings.token !== null) app.use('/api/events', requireToken(settings.token, { query: true }));
  app.get('/api/events', (c) => {
    const q = queryOf(c, ['job', 'token']);
    if (q.job === '') throw httpError(400, 'job: must be a job id', 'job');
    return eventStream(c, dispatcher.events$, closing.signal, q.job);
  });
  if (settings.token !== null) {
    app.use('/api/*', requireToken(settings.token));
    app.use('/metrics', requireToken(settings.token));
  }
  if (settings.readOnly) app.use('/api/*', refuseChanges('this admin API is read-only: configure a token to allow changes'));
  app.use('/api/*', refuseCrossSite());

  app.route('/', uiRoutes());
  app.get('/api/info', (c) => c.json({ readOnly: settings.readOnly, token: settings.token !== null, sampleEveryMs: settings.sampleEveryMs, states: jobRules.states }));
  app.route('/api/stats', statsRoutes(dispatcher, throughput));
  app.route('/api/jobs', jobRoutes(dispatcher));
  app.route('/api/dlq', dlqRoutes(dispatcher));
  app.route('/api/queues', queueRoutes(dispatcher));
  app.route('/api/schedules', scheduleRoutes(dispatcher));
  app.get('/api/chart', async (c) => {
    queryOf(c, []);
    chartLayout ??= layoutChart(jobMachine).catch((error: unknown) => {
      chartLayout = null;
      throw error;
    });
    return c.json(await chartLayout);
  });
  // Metrics: whatever source the options give, in its own content type.
  app.get('/metrics', async (c) => {
    if (!metrics) return c.notFound();
    return c.body(await metrics.metrics(), 200, { 'content-type': metrics.contentType });
  });

  return {
    app,
    close() {
      throughput.stop();
      closing.abort();
    },
  };
}
