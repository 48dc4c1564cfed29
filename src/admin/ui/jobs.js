// Jobs of one state (and queue, name), a page at a time.
import { api, serverInfo } from './api.js';
import { h, link, relative, stateBadge, table, time } from './dom.js';

export async function jobsPage(view, params) {
  const state = params.get('state') || 'pending';
  const filters = { state, queue: params.get('queue') || '', name: params.get('name') || '', limit: params.get('limit') || '50' };
  const query = new URLSearchParams(Object.entries({ ...filters, cursor: params.get('cursor') || '' }).filter(([, v]) => v));
  const [page, { states }] = await Promise.all([api('jobs?' + query), serverInfo()]);
  view.append(h('h1', {}, 'Jobs'), filterForm(states, filters), jobsTable(page.jobs), pager(filters, params.get('cursor'), page.nextCursor));
}

function filterForm(states, filters) {
  const field = (name, placeholder) => h('input', { name, placeholder, value: filters[name] });
  const form = h(
    'form',
    { class: 'filters' },
    h('div', { class: 'tabs' }, states.map((s) => h('a', { href: link('/jobs', { ...filters, state: s }), class: s === filters.state ? 'tab active' : 'tab', 'data-state': s }, s))),
    field('queue', 'queue'),
    field('name', 'job name'),
    h('select', { name: 'limit' }, ['20', '50', '200'].map((n) => h('option', { value: n, selected: n === filters.limit }, n + ' a page'))),
    h('button', { type: 'submit' }, 'Filter'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    location.hash = link('/jobs', { state: filters.state, ...data });
  });
  return form;
}

export function jobsTable(jobs, extra) {
  return table(
    ['id', 'name', 'queue', 'state', 'attempt', 'priority', 'run at', 'updated', 'last error', ...(extra ? [''] : [])],
    jobs.map((job) =>
      h(
        'tr',
        { 'data-job': job.id },
        h('td', {}, h('a', { href: '#/jobs/' + encodeURIComponent(job.id) }, job.id)),
        h('td', {}, job.name),
        h('td', {}, job.queue),
        h('td', {}, stateBadge(job.state)),
        h('td', { class: 'num' }, `${job.attempt}/${job.maxRetries + 1}`),
        h('td', { class: 'num' }, job.priority),
        h('td', { title: time(job.runAt) }, relative(job.runAt)),
        h('td', { title: time(job.updatedAt) }, relative(job.updatedAt)),
        h('td', { class: 'error-text' }, job.lastError ? `${job.lastError.name}: ${job.lastError.message}` : ''),
        extra ? h('td', {}, extra(job)) : null,
      ),
    ),
    'No jobs here.',
  );
}

function pager(filters, cursor, next) {
  return h(
    'div',
    { class: 'pager' },
    cursor ? h('a', { href: link('/jobs', filters) }, '« first page') : null,
    next ? h('a', { href: link('/jobs', { ...filters, cursor: next }), class: 'next' }, 'next page »') : null,
  );
}
