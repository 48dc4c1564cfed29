import { Cron } from 'croner';
import { InvalidOptionError } from '../errors.js';
import type { CatchUp } from '../store/contract.js';

/** The most missed ticks `catchUp: 'all'` fires for one schedule after downtime: the most recent ones. */
export const MAX_CATCH_UP = 100;

/** How late a tick may be found and still count as on time under `catchUp: 'none'` (a slow pass, a leader change). */
export const ON_TIME_MS = 60_000;

const MAX_EXPRESSION_LENGTH = 200;
const cache = new Map<string, Cron>();

/**
 * The cron expression in the time zone, parsed by croner; an
 * InvalidOptionError naming `cron` or `tz` when it cannot be, or when it
 * never fires.
 */
export function cronOf(expression: unknown, tz: unknown, fields = { cron: 'cron', tz: 'tz' }): Cron {
  if (typeof tz !== 'string' || !validZone(tz)) {
    throw new InvalidOptionError(fields.tz, `${JSON.stringify(tz)} is not a time zone: give an IANA name such as 'Europe/Berlin', or 'UTC'`);
  }
  if (typeof expression !== 'string' || expression.trim() === '' || expression.length > MAX_EXPRESSION_LENGTH) {
    throw new InvalidOptionError(fields.cron, `must be a cron expression such as '*/5 * * * *' (at most ${MAX_EXPRESSION_LENGTH} characters)`);
  }
  const key = `${tz}\0${expression}`;
  const kept = cache.get(key);
  if (kept) return kept;
  let cron: Cron;
  try {
    // 'UTC' as an offset: croner converts through Intl for a named zone, about a millisecond a step.
    cron = new Cron(expression, { paused: true, ...(tz === 'UTC' ? { utcOffset: 0 } : { timezone: tz }) });
  } catch (error) {
    throw new InvalidOptionError(fields.cron, `${JSON.stringify(expression)} is not a cron expression: ${(error as Error).message}`);
  }
  if (cron.nextRun() === null) throw new InvalidOptionError(fields.cron, `${JSON.stringify(expression)} never fires`);
  if (cache.size >= 1000) cache.clear();
  cache.set(key, cron);
  return cron;
}

function validZone(tz: string): boolean {
  if (tz === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The first tick strictly after `after`, or null if the expression fires no more. */
export function nextTick(cron: Cron, after: number): number | null {
  return cron.nextRun(new Date(after))?.getTime() ?? null;
}

/**
 * The ticks to fire at `now`, oldest first, of those strictly after `after`
 * (the last tick recorded, or when the schedule was saved) and at or before
 * `now`, as `catchUp` says.
 */
export function dueTicks(cron: Cron, catchUp: CatchUp, after: number, now: number): number[] {
  // croner's previousRuns answers ticks strictly before a whole second: one second on, it answers those at or before now.
  const reference = now + 1000;
  const latest = cron.previousRuns(1, new Date(reference))[0]?.getTime();
  if (latest === undefined || latest <= after || latest > now) return [];
  if (catchUp === 'none') return now - latest <= ON_TIME_MS ? [latest] : [];
  if (catchUp === 'latest') return [latest];
  const ticks = [latest];
  while (ticks.length < MAX_CATCH_UP) {
    const older = cron.previousRuns(Math.min(25, MAX_CATCH_UP - ticks.length), new Date(ticks[ticks.length - 1]!));
    let reached = older.length === 0;
    for (const tick of older) {
      if (tick.getTime() <= after) {
        reached = true;
        break;
      }
      ticks.push(tick.getTime());
    }
    if (reached) break;
  }
  return ticks.reverse();
}
