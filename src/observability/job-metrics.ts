import type { JobState } from '../../machines/job.machine.js';
import { jobRules } from '../../machines/job.rules.js';
import type { StoredJob } from '../store/contract.js';
import { attemptFailed, type Step } from './outcome.js';

/** What is counted of jobs, each by queue and job name. */
export type JobCount = 'enqueued' | 'started' | 'completed' | 'failed' | 'retried' | 'dead-lettered' | 'cancelled';

export const JOB_COUNTS: readonly JobCount[] = ['enqueued', 'started', 'completed', 'failed', 'retried', 'dead-lettered', 'cancelled'];

/** The labels every job figure has. */
export interface JobLabels {
  readonly queue: string;
  readonly name: string;
}

/** Where figures go: the OpenTelemetry instruments, prom-client's. */
export interface MetricsSink {
  count(what: JobCount, job: JobLabels): void;
  /** How late an attempt started: its lease time less the runAt it was due at, in ms. */
  lag(job: JobLabels, ms: number): void;
  /** How long an attempt held the job running, in ms, by the state it left it in. */
  duration(job: JobLabels, state: JobState, ms: number): void;
}

const LEASED = jobRules.leased;

/**
 * Turns what a dispatcher stores (enqueues, and each step of the chart it
 * writes) into figures for its sinks. Each step is counted once, by the
 * process that wrote it, so sinks shared by several dispatchers add up to
 * the process's totals. With no sink it is never called (see `active`).
 */
export class JobMetrics {
  private sinks: readonly MetricsSink[] = [];
  /** When each job held here was leased, keyed by the leased job object, which the runner keeps until its last step. */
  private readonly leasedAt = new WeakMap<object, number>();

  get active(): boolean {
    return this.sinks.length > 0;
  }

  add(sink: MetricsSink): void {
    this.sinks = [...this.sinks, sink];
  }

  enqueued(jobs: readonly StoredJob[]): void {
    for (const job of jobs) if (!job.duplicate) for (const sink of this.sinks) sink.count('enqueued', job);
  }

  /** A stored step of `job`, at `now`. */
  step(job: StoredJob, step: Step, now: number): void {
    const { from, to } = step;
    if (to === LEASED) {
      if (from === LEASED) return; // progress
      this.leasedAt.set(job, now);
      const lag = Math.max(0, now - job.runAt);
      for (const sink of this.sinks) {
        sink.count('started', job);
        sink.lag(job, lag);
      }
      return;
    }
    if (from === LEASED) {
      // Only where this process leased it: another's job (reaped, cancelled) has no start here.
      const at = this.leasedAt.get(job);
      if (at !== undefined) for (const sink of this.sinks) sink.duration(job, to, now - at);
      if (attemptFailed(step)) for (const sink of this.sinks) sink.count('failed', job);
    }
    const counted = countOf(step);
    if (counted) for (const sink of this.sinks) sink.count(counted, job);
  }
}

/** The count a step into a state adds to, besides started and failed. */
function countOf(step: Step): JobCount | null {
  switch (step.to) {
    case 'completed':
      return 'completed';
    case 'retrying':
      return 'retried';
    case 'dlq':
      return 'dead-lettered';
    case 'cancelled':
      return 'cancelled';
    case 'pending':
      // Back to the queue after an expired lease: it runs again, a retry.
      return step.from === LEASED && attemptFailed(step) ? 'retried' : null;
    default:
      return null;
  }
}
