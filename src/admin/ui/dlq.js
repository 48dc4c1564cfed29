// The dead-letter queue: its jobs, replay one or all, purge the old.
import { api, post, serverInfo } from './api.js';
import { button, fill, flash, h, link } from './dom.js';
import { jobsTable } from './jobs.js';

const AGES = [
  ['older than 1 hour', 3600e3],
  ['older than 1 day', 86400e3],
  ['older than 7 days', 7 * 86400e3],
  ['all', 0],
];

export async function dlqPage(view, params, ctx) {
  const filters = { queue: params.get('queue') || '', name: params.get('name') || '' };
  const query = new URLSearchParams(Object.entries({ ...filters, cursor: params.get('cursor') || '' }).filter(([, v]) => v));
  const [page, info] = await Promise.all([api('dlq?' + query), serverInfo()]);
  if (!ctx.alive) return;
  const reload = () => window.dispatchEvent(new HashChangeEvent('hashchange'));
  const replay = (job) =>
    info.readOnly
      ? ''
      : button('Replay', async () => {
          await post('dlq/' + encodeURIComponent(job.id) + '/replay');
          flash(`Job ${job.id} replayed`);
          reload();
        }, { class: 'replay' });
  const age = h('select', { name: 'age' }, AGES.map(([label, ms]) => h('option', { value: ms }, label)));
  const filtered = filters.queue || filters.name ? ' (these filters)' : '';
  fill(
    view,
    h('h1', {}, 'Dead-letter queue'),
    filterForm(filters),
    info.readOnly
      ? h('p', { class: 'muted' }, 'Read-only: no token is configured.')
      : h(
          'div',
          { class: 'actions' },
          button('Replay all' + filtered, async () => {
            if (!confirm('Replay every dead job' + filtered + '?')) return;
            const { replayed } = await post('dlq/replay', { ...(filters.queue ? { queue: filters.queue } : {}), ...(filters.name ? { name: filters.name } : {}) });
            flash(`${replayed} jobs replayed`);
            reload();
          }, { class: 'replay-all' }),
          h('span', { class: 'purge' }, 'Purge ', age, ' '),
          button('Purge', async () => {
            const ms = Number(age.value);
            const before = new Date(ms === 0 ? Date.now() + 1000 : Date.now() - ms).toISOString();
            if (!confirm('Delete the dead jobs ' + age.selectedOptions[0].textContent + '? This cannot be undone.')) return;
            const { purged } = await post('dlq/purge', { before });
            flash(`${purged} jobs purged`);
            reload();
          }, { class: 'danger purge-button' }),
        ),
    jobsTable(page.jobs, replay),
    page.nextCursor ? h('div', { class: 'pager' }, h('a', { href: link('/dlq', { ...filters, cursor: page.nextCursor }) }, 'next page »')) : null,
  );
}

function filterForm(filters) {
  const form = h('form', { class: 'filters' }, h('input', { name: 'queue', placeholder: 'queue', value: filters.queue }), h('input', { name: 'name', placeholder: 'job name', value: filters.name }), h('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = link('/dlq', Object.fromEntries(new FormData(form)));
  });
  return form;
}
