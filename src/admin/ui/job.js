// One job: its record, its actions, and its path through the statechart, live from the event stream and polling.
import { api, events, post, serverInfo } from './api.js';
import { drawChart } from './chart.js';
import { button, fill, flash, h, json, relative, stateBadge, table, time } from './dom.js';

let chart = null;

export async function jobPage(view, params, ctx, id) {
  chart ??= api('chart').catch((error) => {
    chart = null;
    throw error;
  });
  const path = 'jobs/' + encodeURIComponent(id);
  const [first, layout, info] = await Promise.all([api(path), chart, serverInfo()]);
  if (!ctx.alive) return;
  const atRest = new Set(layout.states.filter((s) => s.tags.includes('rest') || s.final).map((s) => s.id));
  const drawing = drawChart(layout);
  /** Steps seen live (this process's, from the stream, and those polling found), shown until the stored history has them. */
  const live = [];
  let job = first;

  const head = h('div', { class: 'job-head' });
  const details = h('div', { class: 'job-details' });
  const timeline = h('section', { class: 'card' });
  view.append(head, h('section', { class: 'card chart-card' }, h('h2', {}, 'Statechart'), drawing.svg), timeline, details);

  const show = () => {
    for (const step of job.history) drawing.step(step.from, step.to, step.event);
    for (const step of live) drawing.step(step.from, step.to, step.event);
    drawing.light(job.state);
    view.dataset.state = job.state;
    fill(
      head,
      h('h1', {}, 'Job ', h('code', {}, job.id), ' ', stateBadge(job.state)),
      h('p', { class: 'muted' }, `${job.name} on ${job.queue}, attempt ${job.attempt} of ${job.maxRetries + 1}, priority ${job.priority}`),
      info.readOnly ? null : actions(),
    );
    const steps = job.history.length ? job.history : live;
    timeline.replaceChildren(
      h('h2', {}, 'Timeline'),
      table(
        ['at', 'from', 'event', 'to', 'attempt', 'worker', 'error'],
        steps.map((s) =>
          h(
            'tr',
            {},
            h('td', { title: s.at }, time(s.at)),
            h('td', {}, s.from ? stateBadge(s.from) : ''),
            h('td', {}, h('code', {}, s.event || '—')),
            h('td', {}, stateBadge(s.to)),
            h('td', { class: 'num' }, s.attempt),
            h('td', {}, s.worker ?? ''),
            h('td', { class: 'error-text' }, s.error ? `${s.error.name}: ${s.error.message}` : ''),
          ),
        ),
        'No steps recorded yet.',
      ),
    );
    fill(
      details,
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'run at'),
        h('dd', {}, time(job.runAt), ' ', h('span', { class: 'muted' }, relative(job.runAt))),
        h('dt', {}, 'created'),
        h('dd', {}, time(job.createdAt)),
        h('dt', {}, 'updated'),
        h('dd', {}, time(job.updatedAt)),
        job.group ? [h('dt', {}, 'group'), h('dd', {}, job.group)] : null,
      ),
      h('section', { class: 'card' }, h('h2', {}, 'Input'), json(job.input)),
      job.progress !== null ? h('section', { class: 'card' }, h('h2', {}, 'Progress'), json(job.progress)) : null,
      job.result !== null ? h('section', { class: 'card' }, h('h2', {}, 'Result'), json(job.result)) : null,
      job.lastError
        ? h('section', { class: 'card error' }, h('h2', {}, 'Last error'), h('p', {}, h('strong', {}, job.lastError.name), ': ', job.lastError.message), job.lastError.stack ? h('details', {}, h('summary', {}, 'stack'), h('pre', {}, job.lastError.stack)) : null)
        : null,
    );
  };

  const refresh = async () => {
    const next = await api(path);
    if (!ctx.alive) return;
    // Moved where the stream did not say (another process ran it): the step as polling saw it.
    const lastSeen = live.at(-1)?.to ?? job.state;
    if (next.state !== lastSeen) live.push({ from: lastSeen, to: next.state, event: '', attempt: next.attempt, worker: null, at: next.updatedAt, polled: true });
    job = next;
    show();
  };

  const actions = () => {
    const waiting = job.state === 'pending' || job.state === 'retrying';
    const dead = job.state === 'failed' || job.state === 'dlq';
    const act = (label, run, cls) => button(label, async () => {
      await run();
      flash(`${label}: done`);
      await refresh();
    }, { class: cls });
    const runAt = h('input', { type: 'datetime-local', name: 'runAt' });
    const priority = h('input', { type: 'number', name: 'priority', min: 0, placeholder: String(job.priority), size: 4 });
    return h(
      'div',
      { class: 'actions' },
      atRest.has(job.state) ? null : act('Cancel', () => post(path + '/cancel'), 'danger cancel'),
      waiting || dead ? act(dead ? 'Replay' : 'Run now', () => post(path + '/retry'), 'retry') : null,
      waiting
        ? h('span', { class: 'reschedule' }, runAt, priority, act('Reschedule', () => post(path + '/reschedule', { ...(runAt.value ? { runAt: new Date(runAt.value).toISOString() } : {}), ...(priority.value ? { priority: Number(priority.value) } : {}) }), 'reschedule'))
        : null,
    );
  };

  show();
  const stream = events(job.id);
  ctx.onLeave(() => stream.close());
  // Whether the stream is up, on the page for whoever watches it (people and tests).
  view.dataset.live = 'connecting';
  stream.addEventListener('ready', () => (view.dataset.live = 'ready'));
  stream.addEventListener('error', () => (view.dataset.live = 'reconnecting'));
  stream.addEventListener('transition', (message) => {
    const step = JSON.parse(message.data);
    // A step polling already guessed is replaced by the one the stream names.
    const guessed = live.findIndex((s) => s.polled && s.from === step.from && s.to === step.to);
    if (guessed >= 0) live.splice(guessed, 1, { ...step, worker: null });
    else live.push({ ...step, worker: null });
    job = { ...job, state: step.to, attempt: step.attempt };
    show();
    void refresh().catch(() => {});
  });
  // The stream carries this process's steps only: poll while the job is not at rest, so a job run elsewhere moves too.
  ctx.every(1000, async () => {
    if (!atRest.has(job.state)) await refresh();
  });
}
