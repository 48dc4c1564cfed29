import type { Accounting } from '../support/runs.js';

export interface SoakSettings {
  jobs: number;
  store: 'sqlite' | 'postgres';
  workers: number;
  concurrency: number;
  failRate: number;
  restartEveryMs: [number, number];
}

export interface Restart {
  atMs: number;
  how: 'SIGKILL' | 'stop';
}

/** Jobs finished (completed or dead-lettered) by each moment the soak looked. */
export interface Sample {
  atMs: number;
  finished: number;
}

export interface SoakResult {
  settings: SoakSettings;
  elapsedMs: number;
  accounting: Accounting;
  restarts: Restart[];
  /** Workers that exited without being told to. */
  crashes: number;
  samples: Sample[];
}

const n = (value: number) => value.toLocaleString('en-US');

/** Throughput in buckets of `bucketMs`, from the samples, with the restarts that fell in each. */
function throughput(result: SoakResult, bucketMs: number): string[] {
  const rows = ['| from (s) | to (s) | jobs finished | jobs/s | restarts |', '|---:|---:|---:|---:|---:|'];
  let previous = { atMs: 0, finished: 0 };
  for (let from = 0; from < result.elapsedMs; from += bucketMs) {
    const to = Math.min(from + bucketMs, result.elapsedMs);
    const inside = result.samples.filter((s) => s.atMs > from && s.atMs <= to);
    const last = inside.at(-1) ?? previous;
    const done = last.finished - previous.finished;
    const seconds = (last.atMs - previous.atMs) / 1000;
    const restarts = result.restarts.filter((r) => r.atMs > from && r.atMs <= to).length;
    rows.push(`| ${Math.round(from / 1000)} | ${Math.round(to / 1000)} | ${n(done)} | ${seconds > 0 ? n(Math.round(done / seconds)) : '-'} | ${restarts} |`);
    previous = last;
  }
  return rows;
}

/** The soak's report as Markdown, to print and to paste into the docs. */
export function renderReport(result: SoakResult, bucketMs: number): string {
  const { settings: s, accounting: a } = result;
  const kills = result.restarts.filter((r) => r.how === 'SIGKILL').length;
  const stops = result.restarts.length - kills;
  const finished = (a.finals.completed ?? 0) + (a.finals.dlq ?? 0);
  const seconds = result.elapsedMs / 1000;
  return [
    `### Soak: ${n(s.jobs)} jobs on ${s.store}`,
    '',
    `${s.workers} worker processes × concurrency ${s.concurrency}; ${s.failRate * 100}% of attempts fail at random (3 retries, 50 ms apart);` +
      ` a worker restarted every ${s.restartEveryMs[0] / 1000}-${s.restartEveryMs[1] / 1000} s: ${kills} killed with SIGKILL, ${stops} stopped gracefully.`,
    '',
    '| | |',
    '|---|---:|',
    `| accepted | ${n(a.accepted)} |`,
    `| completed | ${n(a.finals.completed ?? 0)} |`,
    `| dead-lettered (failed 4 times in a row) | ${n(a.finals.dlq ?? 0)} |`,
    `| **lost** | **${n(a.lost.length)}** |`,
    `| duplicated (work done twice) | ${n(a.duplicated.length)} |`,
    `| of which not explained by a lease expiry | ${n(a.unexplained.length)} |`,
    `| handler runs | ${n(a.handlerRuns)} |`,
    `| workers that crashed on their own | ${result.crashes} |`,
    `| elapsed | ${seconds.toFixed(1)} s |`,
    `| mean throughput | ${n(Math.round(finished / seconds))} jobs/s |`,
    '',
    'Throughput over time:',
    '',
    ...throughput(result, bucketMs),
    '',
  ].join('\n');
}
