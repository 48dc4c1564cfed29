// Overview: jobs by state, throughput by minute, and each queue's jobs by state.
import { api, serverInfo } from './api.js';
import { h, link, table } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';

export async function overviewPage(view, params, ctx) {
  const body = h('div');
  view.append(h('h1', {}, 'Overview'), body);
  const { states } = await serverInfo();
  const draw = async () => {
    const stats = await api('stats');
    if (!ctx.alive) return;
    body.replaceChildren(tiles(states, stats.counts), throughputChart(stats.throughput), h('h2', {}, 'Queues'), queuesTable(states, stats.queues));
  };
  await draw();
  ctx.every(2000, draw);
}

function tiles(states, counts) {
  return h(
    'div',
    { class: 'tiles' },
    states.map((state) =>
      h('a', { class: 'tile state-' + state, href: state === 'dlq' ? '#/dlq' : link('/jobs', { state }), 'data-count': state }, h('span', { class: 'n' }, counts[state]), h('span', { class: 'label' }, state)),
    ),
  );
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

/** Completed (and dead) jobs a minute as bars, across every process sharing the store. */
function throughputChart(throughput) {
  const minutes = throughput.perMinute;
  const width = 600;
  const height = 120;
  const max = Math.max(1, ...minutes.map((m) => m.completed + m.dead));
  const slot = width / 30;
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height + 16}`, class: 'throughput', role: 'img', 'aria-label': 'jobs completed per minute' });
  minutes.forEach((m, i) => {
    const x = (30 - minutes.length + i) * slot + 1;
    const done = (m.completed / max) * height;
    const dead = (m.dead / max) * height;
    const title = svg('title', {});
    title.textContent = `${new Date(m.minute).toLocaleTimeString()}: ${m.completed} completed, ${m.dead} dead`;
    chart.append(svg('g', {}, title, svg('rect', { class: 'bar completed', x, y: height - done, width: slot - 2, height: done }), svg('rect', { class: 'bar dead', x, y: height - done - dead, width: slot - 2, height: dead })));
  });
  const axis = svg('text', { x: width, y: height + 13, 'text-anchor': 'end', class: 'axis' });
  axis.textContent = `max ${max}/min`;
  chart.append(svg('line', { x1: 0, x2: width, y1: height, y2: height, class: 'baseline' }), axis);
  const full = minutes.at(-2);
  const note = full ? ` ${full.completed} completed in the last full minute` : minutes.length ? ` ${minutes[0].completed} completed this minute so far` : ' (sampling…)';
  return h(
    'section',
    { class: 'card' },
    h('h2', {}, 'Throughput', h('span', { class: 'muted' }, note)),
    chart,
  );
}

function queuesTable(states, queues) {
  return table(
    ['queue', ...states],
    queues.map((q) =>
      h(
        'tr',
        { 'data-queue': q.name },
        h('td', {}, h('a', { href: link('/jobs', { state: 'pending', queue: q.name }) }, q.name), q.paused ? h('span', { class: 'badge paused' }, 'paused') : null),
        states.map((state) => h('td', { class: 'num' }, q.counts[state] ? h('a', { href: link('/jobs', { state, queue: q.name }) }, q.counts[state]) : '0')),
      ),
    ),
    'No queues yet.',
  );
}
