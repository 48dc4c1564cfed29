import type { ChartGraph, ChartTransition } from './graph.js';

function labelOf(transition: ChartTransition): string {
  return transition.guard ? `${transition.label} [${transition.guard}]` : transition.label;
}

/** The chart as a Mermaid state diagram (`stateDiagram-v2`): paste it in Markdown to draw it. */
export function toMermaid(graph: ChartGraph): string {
  const lines = ['stateDiagram-v2', `  [*] --> ${graph.initial}`];
  for (const transition of graph.transitions) {
    lines.push(`  ${transition.from} --> ${transition.to}: ${labelOf(transition).replaceAll(':', '#58;')}`);
  }
  for (const state of graph.states) if (state.final) lines.push(`  ${state.id} --> [*]`);
  return `${lines.join('\n')}\n`;
}

const quoted = (text: string) => `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;

/** The chart in Graphviz's DOT language: `dot -Tsvg` draws it. */
export function toDot(graph: ChartGraph, name = 'job'): string {
  const lines = [`digraph ${quoted(name)} {`, '  rankdir=LR;', '  node [shape=box, style=rounded];', '  __start [shape=point];'];
  for (const state of graph.states) {
    lines.push(`  ${quoted(state.id)}${state.final ? ' [peripheries=2]' : ''};`);
  }
  lines.push(`  __start -> ${quoted(graph.initial)};`);
  for (const transition of graph.transitions) {
    const style = transition.kind === 'event' ? '' : ', style=dashed';
    lines.push(`  ${quoted(transition.from)} -> ${quoted(transition.to)} [label=${quoted(labelOf(transition))}${style}];`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
