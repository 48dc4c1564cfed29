import { type JobRecord, toRecord } from '../engine/records.js';
import { contextOf } from '../kernel/chart.js';
import { jobRules, type StoredJob } from '../store/contract.js';
import type { ClientParts } from './client.js';

/** Why enqueueMany refuses a key: one key for every input would make one job of them all. */
export const KEY_IN_BULK = 'is not an option of enqueueMany: one key for every input would make one job; enqueue each keyed job on its own';

/**
 * The record of an enqueue whose key was held: the holder, marked
 * `duplicate`. A holder the store replaced took the chart's REPLACE edge,
 * which is reported on events$ like any other step.
 */
export function duplicateRecord(stored: StoredJob, parts: Pick<ClientParts, 'kernel' | 'registry' | 'emit'>): JobRecord {
  if (stored.duplicate === 'replaced') {
    let context = contextOf(stored, parts.registry.deadLetter(stored.name));
    // Due out of retrying: the store applied the delayed edge (after backoff) and REPLACE in one write.
    const through = stored.replacedFrom && jobRules.dueThrough.get(stored.replacedFrom);
    if (through) {
      const due = parts.kernel.decide(stored.replacedFrom!, context, { type: through.event });
      if (due) {
        parts.emit(stored, due);
        context = due.context;
      }
    }
    // The store replaces only where the chart accepts REPLACE (jobRules.replaceFrom), so there is a step.
    const step = parts.kernel.decide(stored.state, context, REPLACE);
    if (step) parts.emit(stored, step);
  }
  const record = toRecord(stored);
  record.duplicate = true;
  return record;
}

const REPLACE = Object.freeze({ type: 'REPLACE' as const });
