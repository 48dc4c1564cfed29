// Building the page: elements from a tag, attributes and children; formatting.

/** An element: attributes (`on...` functions become listeners; null/false are left out) and children (text, nodes, arrays). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'value') el.value = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/** Replaces an element's children; null, undefined and false are left out (the DOM's own would print "null"). */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

export function time(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { hour12: false });
}

/** "in 3m", "5s ago". */
export function relative(iso) {
  if (!iso) return '';
  const s = Math.round((new Date(iso).getTime() - Date.now()) / 1000);
  const abs = Math.abs(s);
  const text = abs < 60 ? abs + 's' : abs < 3600 ? Math.round(abs / 60) + 'm' : abs < 86400 ? Math.round(abs / 3600) + 'h' : Math.round(abs / 86400) + 'd';
  return s >= 0 ? 'in ' + text : text + ' ago';
}

export function json(value) {
  return h('pre', { class: 'json' }, value === undefined ? '' : JSON.stringify(value, null, 2));
}

export function stateBadge(state) {
  return h('span', { class: 'badge state-' + state }, state);
}

/** A hash link with query parameters, those empty left out. */
export function link(path, params = {}) {
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== ''));
  const s = q.toString();
  return '#' + path + (s ? '?' + s : '');
}

export function table(headings, rows, empty = 'Nothing here.') {
  if (rows.length === 0) return h('p', { class: 'muted empty' }, empty);
  return h('table', {}, h('thead', {}, h('tr', {}, headings.map((t) => h('th', {}, t)))), h('tbody', {}, rows));
}

/** A button that runs `action`, disabled while it runs, its error shown beside it. */
export function button(label, action, attrs = {}) {
  const b = h('button', { type: 'button', ...attrs }, label);
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      await action();
    } catch (error) {
      flash(error.message, 'error');
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

/** A short message at the top of the page. */
export function flash(message, kind = 'info') {
  const el = h('div', { class: 'flash ' + kind, role: 'status' }, message);
  document.body.append(el);
  setTimeout(() => el.remove(), 4000);
}
