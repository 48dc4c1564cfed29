// The dashboard's router: one page a hash route, each given a context that ends its timers and streams when left.
import { ApiError, setToken } from './api.js';
import { h } from './dom.js';
import { dlqPage } from './dlq.js';
import { jobPage } from './job.js';
import { jobsPage } from './jobs.js';
import { overviewPage } from './overview.js';
import { queuesPage } from './queues.js';
import { schedulesPage } from './schedules.js';

const routes = [
  [/^\/?$/, 'overview', overviewPage],
  [/^\/jobs$/, 'jobs', jobsPage],
  [/^\/jobs\/(.+)$/, 'jobs', jobPage],
  [/^\/dlq$/, 'dlq', dlqPage],
  [/^\/queues$/, 'queues', queuesPage],
  [/^\/schedules$/, 'schedules', schedulesPage],
];

let current = null;

/** What a page is given: whether it is still shown, and a place to leave what must end with it. */
function pageContext() {
  const cleanups = [];
  const ctx = {
    alive: true,
    onLeave: (fn) => cleanups.push(fn),
    /** Runs `fn` every `ms` while the page is shown, one run at a time. */
    every(ms, fn) {
      let timer = null;
      const tick = async () => {
        try {
          await fn();
        } catch (error) {
          console.warn(error);
        }
        if (ctx.alive) timer = setTimeout(tick, ms);
      };
      timer = setTimeout(tick, ms);
      cleanups.push(() => clearTimeout(timer));
    },
    leave() {
      ctx.alive = false;
      for (const fn of cleanups) fn();
    },
  };
  return ctx;
}

async function render() {
  current?.leave();
  const ctx = (current = pageContext());
  const main = document.getElementById('main');
  const [path, query] = location.hash.slice(1).split('?');
  const params = new URLSearchParams(query ?? '');
  const route = routes.find(([pattern]) => pattern.test(path));
  for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('active', a.dataset.nav === route?.[1]);
  const view = h('div', { class: 'page' });
  main.replaceChildren(view);
  if (!route) {
    view.append(h('h1', {}, 'Not found'), h('p', {}, 'No page at ', h('code', {}, location.hash)));
    return;
  }
  const match = path.match(route[0]);
  try {
    await route[2](view, params, ctx, ...match.slice(1).map(decodeURIComponent));
  } catch (error) {
    if (!ctx.alive) return;
    view.replaceChildren(errorView(error));
  }
}

function errorView(error) {
  if (error instanceof ApiError && error.status === 401) {
    const input = h('input', { type: 'password', name: 'token', placeholder: 'token', autocomplete: 'off' });
    return h(
      'form',
      { class: 'token-form', onsubmit: (e) => (e.preventDefault(), setToken(input.value), render()) },
      h('h1', {}, 'A token is needed'),
      h('p', {}, 'This server asks for a token. It is kept in this tab only.'),
      input,
      h('button', { type: 'submit' }, 'Use it'),
    );
  }
  return h('div', { class: 'error-view' }, h('h1', {}, error instanceof ApiError ? 'Error ' + error.status : 'Error'), h('p', {}, error.message));
}

window.addEventListener('hashchange', render);
render();
