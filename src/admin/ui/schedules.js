// Cron schedules: their next tick and last job; remove one.
import { api, serverInfo } from './api.js';
import { button, flash, h, json, relative, table, time } from './dom.js';

export async function schedulesPage(view, params, ctx) {
  const body = h('div');
  view.append(h('h1', {}, 'Schedules'), body);
  const info = await serverInfo();
  const draw = async () => {
    const { schedules } = await api('schedules');
    if (!ctx.alive) return;
    body.replaceChildren(
      table(
        ['name', 'cron', 'job', 'queue', 'next run', 'last tick', 'last job', 'input', ''],
        schedules.map((s) =>
          h(
            'tr',
            { 'data-schedule': s.name },
            h('td', {}, s.name),
            h('td', {}, h('code', {}, s.cron), ' ', h('span', { class: 'muted' }, s.tz)),
            h('td', {}, s.job),
            h('td', {}, s.queue),
            h('td', { title: time(s.nextRunAt) }, s.nextRunAt ? relative(s.nextRunAt) : 'never'),
            h('td', { title: time(s.lastTickAt) }, relative(s.lastTickAt)),
            h('td', {}, s.lastJobId ? h('a', { href: '#/jobs/' + encodeURIComponent(s.lastJobId) }, s.lastJobId) : ''),
            h('td', {}, h('details', {}, h('summary', {}, 'input'), json(s.input))),
            h(
              'td',
              {},
              info.readOnly
                ? ''
                : button('Remove', async () => {
                    if (!confirm(`Remove the schedule ${s.name}? Jobs it made are kept.`)) return;
                    await api('schedules/' + encodeURIComponent(s.name), { method: 'DELETE' });
                    flash(`Schedule ${s.name} removed`);
                    await draw();
                  }, { class: 'danger' }),
            ),
          ),
        ),
        'No schedules.',
      ),
    );
  };
  await draw();
  ctx.every(5000, draw);
}
