import type { JobError, JobState } from '../../machines/job.machine.js';
import type { Dispatcher } from '../engine/dispatcher.js';

/** One stored step of a job through the chart, oldest first: what the job page's timeline and path show. */
export interface HistoryEntry {
  from: JobState | null;
  to: JobState;
  event: string;
  attempt: number;
  error?: JobError;
  worker: string | null;
  at: Date;
}

/** A job's stored steps, oldest first. */
export async function jobHistory(dispatcher: Dispatcher, id: string): Promise<HistoryEntry[]> {
  // Empty until the store keeps history: the lead wires dispatcher.jobs.history(id) here at merge.
  void dispatcher;
  void id;
  return [];
}
