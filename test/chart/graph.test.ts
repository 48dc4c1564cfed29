import { describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { jobMachine, JOB_STATES } from '../../machines/job.machine.js';
import { chartGraph } from '../../src/chart/graph.js';
import { toDot, toMermaid } from '../../src/chart/text.js';
import { chartSteps, stepKey } from '../support/chart-edges.js';

describe('the chart graph read from a machine', () => {
  const graph = chartGraph(jobMachine);

  it("has the job chart's states, initial state and finals", () => {
    expect(graph.states.map((s) => s.id)).toEqual([...JOB_STATES]);
    expect(graph.initial).toBe('pending');
    expect(graph.states.filter((s) => s.final).map((s) => s.id).sort()).toEqual(['cancelled', 'completed']);
    expect(graph.states.find((s) => s.id === 'pending')?.tags).toEqual(['leasable']);
  });

  it("holds every edge of the chart's own graph, and the eventless one it leaves out", () => {
    const steps = chartSteps(jobMachine);
    const drawn = graph.transitions.filter((t) => t.kind !== 'always').map((t) => stepKey(t));
    expect(drawn).toHaveLength(19);
    for (const step of drawn) expect(steps).toContain(step);
    expect(graph.transitions).toContainEqual({ from: 'failed', to: 'dlq', event: '', label: 'always', kind: 'always', guard: 'deadLetter' });
    expect(graph.transitions).toContainEqual({
      from: 'retrying', to: 'pending', event: 'xstate.after.backoff.job.retrying', label: 'after backoff', kind: 'delay',
    });
    expect(graph.transitions).toContainEqual({
      from: 'running', to: 'retrying', event: 'FAIL', label: 'FAIL', kind: 'event', guard: 'retryable && retriesLeft',
    });
  });

  it('follows a chart as it is, not a list kept by hand', () => {
    const small = chartGraph(createMachine({ id: 'door', initial: 'shut', states: { shut: { on: { OPEN: 'open' } }, open: { after: { 500: 'shut' } }, gone: { type: 'final' } } }));
    expect(small).toEqual({
      initial: 'shut',
      states: [{ id: 'shut', final: false, tags: [] }, { id: 'open', final: false, tags: [] }, { id: 'gone', final: true, tags: [] }],
      transitions: [
        { from: 'shut', to: 'open', event: 'OPEN', label: 'OPEN', kind: 'event' },
        { from: 'open', to: 'shut', event: 'xstate.after.500.door.open', label: 'after 500', kind: 'delay' },
      ],
    });
  });

  it('prints as Mermaid and as DOT, one line per transition', () => {
    const mermaid = toMermaid(graph);
    expect(mermaid.startsWith('stateDiagram-v2\n  [*] --> pending\n')).toBe(true);
    expect(mermaid).toContain('  retrying --> pending: after backoff\n');
    expect(mermaid).toContain('  completed --> [*]\n');
    expect(mermaid.trim().split('\n')).toHaveLength(2 + graph.transitions.length + 2);
    const dot = toDot(graph);
    expect(dot).toContain('"running" -> "retrying" [label="FAIL [retryable && retriesLeft]"];');
    expect(dot).toContain('"failed" -> "dlq" [label="always [deadLetter]", style=dashed];');
    expect(dot.match(/ -> /g)).toHaveLength(graph.transitions.length + 1);
  });
});
