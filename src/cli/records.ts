import type { JobRecord } from '../engine/records.js';
import { clip, table, when } from './table.js';

/** Jobs as a table: one line each. */
export function jobTable(jobs: readonly JobRecord[]): string {
  return table(
    ['id', 'state', 'name', 'queue', 'priority', 'attempt', 'run at', 'error'],
    jobs.map((j) => [j.id, j.state, j.name, j.queue, String(j.priority), `${j.attempt}/${j.maxRetries + 1}`, when(j.runAt), j.lastError ? clip(j.lastError.message, 50) : '']),
  );
}

/** One job, a field a line, its JSON values in full. */
export function jobDetail(job: JobRecord): string {
  const fields: Array<[string, string]> = [
    ['id', job.id],
    ['name', job.name],
    ['state', job.state],
    ['queue', job.queue],
    ['group', job.group ?? '-'],
    ['priority', String(job.priority)],
    ['attempt', `${job.attempt} of ${job.maxRetries + 1}`],
    ['timeout', `${job.timeoutMs} ms`],
    ['run at', when(job.runAt)],
    ['created', when(job.createdAt)],
    ['updated', when(job.updatedAt)],
    ['lease ends', when(job.leaseExpiresAt)],
    ['input', JSON.stringify(job.input)],
    ['result', JSON.stringify(job.result)],
    ['progress', JSON.stringify(job.progress)],
    ['error', job.lastError ? `${job.lastError.name}: ${job.lastError.message}` : '-'],
  ];
  const width = Math.max(...fields.map(([name]) => name.length));
  return fields.map(([name, value]) => `${`${name}:`.padEnd(width + 1)} ${value}`).join('\n');
}
