import { existsSync, readFileSync } from 'node:fs';

/** The job ids a worker logged, one per handler run. */
export function loggedIds(log: string): string[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8').split('\n').filter(Boolean);
}
