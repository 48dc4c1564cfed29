import type { AnyStateMachine } from 'xstate';
import { type ChartGraph, type ChartState, type ChartTransition, chartGraph } from '../chart/graph.js';

export interface Point {
  x: number;
  y: number;
}

/** A state placed on the drawing: its centre and size. */
export interface PlacedState extends ChartState, Point {
  width: number;
  height: number;
}

/** A transition placed on the drawing: the line's points, and where its label sits. */
export interface PlacedTransition extends ChartTransition {
  points: Point[];
  labelAt: Point;
}

/** The chart as the dashboard draws it: read from the machine, laid out by dagre. */
export interface ChartLayout {
  initial: string;
  width: number;
  height: number;
  states: PlacedState[];
  transitions: PlacedTransition[];
}

/** Rough text metrics: the browser draws with a 12px sans-serif, about 7px a character. */
const CHAR_WIDTH = 7;
const LINE_HEIGHT = 16;

function labelOf(transition: ChartTransition): string {
  return transition.guard ? `${transition.label} [${transition.guard}]` : transition.label;
}

/**
 * Lays out `machine`'s chart (its states and transitions as `chartGraph`
 * reads them) with dagre, left to right, each transition's label given room
 * of its own so none overlaps a line. Pure: the same chart gives the same drawing.
 */
export async function layoutChart(machine: AnyStateMachine): Promise<ChartLayout> {
  // Loaded here, not with the package: only a dashboard needs it.
  const { default: dagre } = await import('@dagrejs/dagre');
  const graph: ChartGraph = chartGraph(machine);
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'LR', nodesep: 36, ranksep: 90, edgesep: 18, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const state of graph.states) g.setNode(state.id, { width: Math.max(90, state.id.length * 9 + 30), height: 40 });
  graph.transitions.forEach((t, i) => {
    g.setEdge(t.from, t.to, { width: labelOf(t).length * CHAR_WIDTH, height: LINE_HEIGHT, labelpos: 'c' }, `e${i}`);
  });
  dagre.layout(g);
  const states = graph.states.map((state): PlacedState => {
    const node = g.node(state.id);
    return { ...state, x: node.x, y: node.y, width: node.width, height: node.height };
  });
  const transitions = graph.transitions.map((t, i): PlacedTransition => {
    const edge = g.edge({ v: t.from, w: t.to, name: `e${i}` }) as { points: Point[]; x: number; y: number };
    return { ...t, points: edge.points.map(({ x, y }) => ({ x, y })), labelAt: { x: edge.x, y: edge.y } };
  });
  const label = g.graph() as { width?: number; height?: number };
  return { initial: graph.initial, width: label.width ?? 0, height: label.height ?? 0, states, transitions };
}
