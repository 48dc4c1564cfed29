import { Option } from 'commander';
import { jobMachine } from '../../../machines/job.machine.js';
import { chartGraph } from '../../chart/graph.js';
import { toDot, toMermaid } from '../../chart/text.js';
import type { CommandFamily } from '../main.js';

/** `dispatch chart`: the job chart, read from jobMachine, as Mermaid or DOT. */
export const chartCommand: CommandFamily = (program, ctx) => {
  program
    .command('chart')
    .description("print the job statechart, read from jobMachine itself, as Mermaid or Graphviz DOT")
    .addOption(new Option('--format <format>', 'the text to print').choices(['mermaid', 'dot']).default('mermaid'))
    .addHelpText('after', '\nExamples:\n  dispatch chart > chart.mmd\n  dispatch chart --format dot | dot -Tsvg > chart.svg')
    .action((flags: { format: 'mermaid' | 'dot' }) => {
      const graph = chartGraph(jobMachine);
      ctx.io.stdout.write(flags.format === 'dot' ? toDot(graph) : toMermaid(graph));
    });
};
