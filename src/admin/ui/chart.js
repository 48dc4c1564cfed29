// The job statechart drawn from the layout the server computed from jobMachine: states, transitions, and a job's path.
const SVG = 'http://www.w3.org/2000/svg';

function el(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A smooth line through the points: straight to the first bend, then curves through the midpoints. */
function pathOf(points) {
  const [first, ...rest] = points;
  let d = `M${first.x},${first.y}`;
  for (let i = 0; i < rest.length - 1; i++) {
    const p = rest[i];
    const next = rest[i + 1];
    d += ` Q${p.x},${p.y} ${(p.x + next.x) / 2},${(p.y + next.y) / 2}`;
  }
  const last = rest.at(-1);
  if (last) d += ` L${last.x},${last.y}`;
  return d;
}

/** A transition back to its own state: a loop from the side of the state that faces its label, reaching to the label. */
function loopOf(state, label) {
  const below = label.y >= state.y;
  const edge = below ? state.y + state.height / 2 : state.y - state.height / 2;
  const reach = label.y + (below ? -8 : 8);
  return `M${state.x - 14},${edge} C${label.x - 40},${reach} ${label.x + 40},${reach} ${state.x + 14},${edge}`;
}

/**
 * Draws the chart; answers the SVG and how to show a job on it: `light(state)`
 * marks where it is, `step(from, to, event)` marks a move it made.
 */
export function drawChart(layout) {
  const pad = 24;
  const svg = el('svg', { viewBox: `${-pad} 0 ${layout.width + pad} ${layout.height}`, class: 'chart', role: 'img', 'aria-label': 'the job statechart' });
  const defs = el('defs');
  for (const [id, cls] of [['arrow', 'arrowhead'], ['arrow-taken', 'arrowhead taken']]) {
    const marker = el('marker', { id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
    marker.append(el('path', { d: 'M0,0 L10,5 L0,10 z', class: cls }));
    defs.append(marker);
  }
  svg.append(defs);

  const placed = new Map(layout.states.map((s) => [s.id, s]));
  const edges = layout.transitions.map((t) => {
    const g = el('g', { class: `edge kind-${t.kind}`, 'data-from': t.from, 'data-to': t.to, 'data-event': t.event });
    const d = t.from === t.to ? loopOf(placed.get(t.from), t.labelAt) : pathOf(t.points);
    const line = el('path', { d, 'marker-end': 'url(#arrow)' });
    g.append(el('title', {}, `${t.from} → ${t.to}: ${t.label}${t.guard ? ` [${t.guard}]` : ''}`), line);
    g.append(el('text', { x: t.labelAt.x, y: t.labelAt.y + 4, 'text-anchor': 'middle', class: 'edge-label' }, t.guard ? `${t.label} [${t.guard}]` : t.label));
    svg.append(g);
    return { t, g, line };
  });

  const initial = layout.states.find((s) => s.id === layout.initial);
  if (initial) {
    const x = initial.x - initial.width / 2;
    svg.append(el('circle', { cx: x - 18, cy: initial.y, r: 5, class: 'initial' }), el('path', { d: `M${x - 13},${initial.y} L${x},${initial.y}`, class: 'initial-line', 'marker-end': 'url(#arrow)' }));
  }

  const nodes = new Map();
  for (const s of layout.states) {
    const g = el('g', { class: `state state-${s.id}${s.final ? ' final' : ''}`, 'data-state': s.id });
    const x = s.x - s.width / 2;
    const y = s.y - s.height / 2;
    g.append(el('title', {}, `${s.id}${s.tags.length ? ` (${s.tags.join(', ')})` : ''}`), el('rect', { x, y, width: s.width, height: s.height, rx: 10 }));
    if (s.final) g.append(el('rect', { x: x + 4, y: y + 4, width: s.width - 8, height: s.height - 8, rx: 7, class: 'inner' }));
    g.append(el('text', { x: s.x, y: s.y + 5, 'text-anchor': 'middle' }, s.id));
    svg.append(g);
    nodes.set(s.id, g);
  }

  const mark = (edge) => {
    edge.g.classList.add('taken');
    edge.line.setAttribute('marker-end', 'url(#arrow-taken)');
  };

  return {
    svg,
    light(state) {
      for (const [id, g] of nodes) g.classList.toggle('current', id === state);
      nodes.get(state)?.classList.add('visited');
    },
    /** Marks the transition(s) a step took; a step may pass through an eventless or delayed edge on its way. */
    step(from, to, event) {
      nodes.get(to)?.classList.add('visited');
      if (!from) return;
      nodes.get(from)?.classList.add('visited');
      const taken = findPath(edges, from, to, event);
      for (const edge of taken) mark(edge);
      for (const edge of taken) nodes.get(edge.t.to)?.classList.add('visited');
    },
  };
}

/** The edges a step from `from` to `to` on `event` took: one edge, or two through an `always` or `after` edge. */
function findPath(edges, from, to, event) {
  const direct = edges.filter((e) => e.t.from === from && e.t.to === to);
  if (direct.length) {
    const byEvent = direct.filter((e) => e.t.event === event);
    return byEvent.length ? byEvent.slice(0, 1) : direct.slice(0, 1);
  }
  for (const first of edges.filter((e) => e.t.from === from)) {
    for (const second of edges.filter((e) => e.t.from === first.t.to && e.t.to === to)) {
      if (!event || first.t.event === event || second.t.event === event) return [first, second];
    }
  }
  return [];
}
