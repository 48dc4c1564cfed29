// Queues: their limits and jobs, pause and resume, configure.
import { api, serverInfo } from './api.js';
import { button, flash, h, link, table } from './dom.js';

export async function queuesPage(view, params, ctx) {
  const body = h('div');
  view.append(h('h1', {}, 'Queues'), body);
  const info = await serverInfo();
  const draw = async () => {
    const { queues } = await api('queues');
    if (!ctx.alive) return;
    body.replaceChildren(
      table(
        ['queue', 'status', 'pending', 'running', 'concurrency', 'rate limit', 'group concurrency', ''],
        queues.map((q) => row(q, info.readOnly, draw)),
        'No queues yet: a queue appears once it has jobs or settings.',
      ),
    );
  };
  await draw();
  ctx.every(3000, draw);
}

function row(q, readOnly, redraw) {
  const act = (path, body, done) => async () => {
    await api('queues/' + encodeURIComponent(q.name) + path, { method: body ? 'PATCH' : 'POST', body });
    flash(done);
    await redraw();
  };
  const limits = h('form', { class: 'limits', hidden: true });
  const input = (name, value, placeholder) => h('input', { name, value: value ?? '', placeholder, size: 6 });
  limits.append(
    input('concurrency', q.concurrency, 'concurrency'),
    input('max', q.rateLimit?.max, 'rate: jobs'),
    input('per', q.rateLimit ? q.rateLimit.perMs + 'ms' : '', 'per (1s, 1m)'),
    input('groupConcurrency', q.groupConcurrency, 'per group'),
    h('button', { type: 'submit' }, 'Save'),
  );
  limits.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = Object.fromEntries(new FormData(limits));
    const num = (v) => (v === '' ? null : Number(v));
    const config = { concurrency: num(f.concurrency), groupConcurrency: num(f.groupConcurrency), rateLimit: f.max === '' ? null : { max: Number(f.max), per: /^\d+$/.test(f.per) ? Number(f.per) : f.per } };
    try {
      await act('', config, `Queue ${q.name} configured`)();
    } catch (error) {
      flash(error.message, 'error');
    }
  });
  return h(
    'tr',
    { 'data-queue': q.name },
    h('td', {}, h('a', { href: link('/jobs', { state: 'pending', queue: q.name }) }, q.name)),
    h('td', { class: 'status' }, q.paused ? h('span', { class: 'badge paused' }, 'paused') : h('span', { class: 'badge active' }, 'active')),
    h('td', { class: 'num' }, q.counts.pending),
    h('td', { class: 'num' }, q.counts.running),
    h('td', { class: 'num' }, q.concurrency ?? '—'),
    h('td', {}, q.rateLimit ? `${q.rateLimit.max} per ${q.rateLimit.perMs} ms` : '—'),
    h('td', { class: 'num' }, q.groupConcurrency ?? '—'),
    h(
      'td',
      {},
      readOnly
        ? ''
        : [
            q.paused ? button('Resume', act('/resume', undefined, `Queue ${q.name} resumed`), { class: 'resume' }) : button('Pause', act('/pause', undefined, `Queue ${q.name} paused`), { class: 'pause' }),
            h('button', { type: 'button', onclick: () => (limits.hidden = !limits.hidden) }, 'Limits…'),
            limits,
          ],
    ),
  );
}
