import { type JobError, type JobState, JOB_STATES } from '../../machines/job.machine.js';
import { CorruptJobError, type StoredJob } from './contract.js';

const STATES: ReadonlySet<string> = new Set(JOB_STATES);

/** A stored state as a state of the chart; any other is no job this code can move, and is refused by name. */
export function chartState(id: string, state: string): JobState {
  if (!STATES.has(state)) throw new CorruptJobError(id, 'state', `${JSON.stringify(state)} is not a state of the job chart`);
  return state as JobState;
}

/**
 * Sets a job's input and last error from the JSON text a row keeps. A value
 * that cannot be read leaves its field empty and is named in `defect`, so one
 * bad row never makes a read (a lease!) throw for every job beside it.
 */
export function readJsonColumns(job: StoredJob, input: string, lastError: string | null): void {
  try {
    job.input = JSON.parse(input);
  } catch (error) {
    job.defect = { field: 'input', reason: `is not JSON (${(error as Error).message})` };
  }
  if (lastError === null) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(lastError);
  } catch (error) {
    job.defect ??= { field: 'lastError', reason: `is not JSON (${(error as Error).message})` };
    return;
  }
  if (isJobError(parsed)) job.lastError = parsed;
  else job.defect ??= { field: 'lastError', reason: `is not an error object with a string name and message: ${lastError.slice(0, 200)}` };
}

function isJobError(value: unknown): value is JobError {
  if (typeof value !== 'object' || value === null) return false;
  const { name, message, stack } = value as Record<string, unknown>;
  return typeof name === 'string' && typeof message === 'string' && (stack === undefined || typeof stack === 'string');
}
