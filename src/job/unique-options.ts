import { z } from 'zod';
import { durationField } from '../duration.js';
import type { JobKey } from '../store/contract.js';

/** The enqueue options of unique jobs and debounce (see docs/unique-jobs.md). */
export const uniqueOptionShape = {
  key: z
    .string({ error: 'must be a string' })
    .min(1, { error: 'must not be empty' })
    .max(1000, { error: 'must be at most 1000 characters' })
    .optional(),
  onConflict: z.enum(['ignore', 'replace', 'error'], { error: "must be 'ignore', 'replace' or 'error'" }).optional(),
  // Both become times in the store (a rest time plus keepFor, now plus debounce), not timers.
  keepFor: durationField(0, 'stored').optional(),
  debounce: durationField(0, 'stored').optional(),
};

interface UniqueFields {
  key?: string;
  onConflict?: JobKey['onConflict'];
  keepFor?: number;
  debounce?: number;
  runAt?: Date;
  delay?: number;
}

/** The combinations that mean nothing, refused with the field at fault. */
export function refineUnique(o: UniqueFields, ctx: z.RefinementCtx): void {
  const refuse = (field: string, message: string) => ctx.addIssue({ code: 'custom', message, path: [field] });
  if (o.key === undefined) {
    for (const field of ['onConflict', 'keepFor', 'debounce'] as const) {
      if (o[field] !== undefined) refuse(field, 'needs a key: it says what happens when the key is already held');
    }
    return;
  }
  if (o.debounce === undefined) return;
  if (o.runAt !== undefined || o.delay !== undefined) refuse('debounce', 'sets when the job runs: give runAt or delay, or debounce, not both');
  if (o.onConflict === 'ignore' || o.onConflict === 'error') {
    refuse('onConflict', `cannot be '${o.onConflict}' with debounce, which replaces the waiting job`);
  }
}

/** The store's JobKey for parsed options that have a key. */
export function uniqueOf(o: UniqueFields & { key: string }): { unique: JobKey; debounceMs?: number } {
  const debounce = o.debounce !== undefined;
  const unique: JobKey = {
    key: o.key,
    keepForMs: o.keepFor ?? 0,
    onConflict: debounce ? 'replace' : (o.onConflict ?? 'ignore'),
    debounce,
  };
  return debounce ? { unique, debounceMs: o.debounce } : { unique };
}
