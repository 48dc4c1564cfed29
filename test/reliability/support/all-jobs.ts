import { JOB_STATES, type Store, type StoredJob } from '../../../src/index.js';

/** Every job a store holds, read a page at a time through the contract. */
export async function allJobs(store: Store): Promise<StoredJob[]> {
  const jobs: StoredJob[] = [];
  for (const state of JOB_STATES) {
    let cursor: string | null = null;
    do {
      const page = await store.list({ state, limit: 5000, cursor });
      jobs.push(...page.jobs);
      cursor = page.nextCursor;
    } while (cursor);
  }
  return jobs;
}
