import type { Database } from 'better-sqlite3';
import { SQL } from './queries.js';

interface Claim {
  name: string;
  holder: string;
}

/** Claims on leader duties, each one write transaction (BEGIN IMMEDIATE) on the shared file. */
export interface DutyClaims {
  /** Takes the duty for `holder` until now + `expiryMs`, if nobody holds it or their claim has expired. */
  take(claim: Claim, expiryMs: number): boolean;
  /** Pushes the holder's expiry out; false if the claim is no longer theirs. */
  renew(claim: Claim, expiryMs: number): boolean;
  /** Gives the duty up, if it is still the holder's. */
  release(claim: Claim): void;
}

/**
 * SQLite's only locks are the file's transaction locks, and a duty held
 * that way would stop every writer for its whole run; several processes
 * share the file, so a duty is a row naming its holder and when the claim
 * runs out. The holder renews it while it runs; a holder that dies
 * stops renewing, and its claim can be taken once it expires. Times are the
 * process clock, read once the write lock is held, which every process on
 * the machine shares.
 */
export function dutyClaims(db: Database): DutyClaims {
  const take = db.prepare<{ name: string; holder: string; expiresAt: number; now: number }>(SQL.takeDuty);
  const renew = db.prepare<{ name: string; holder: string; expiresAt: number }>(SQL.renewDuty);
  const release = db.prepare<Claim>(SQL.releaseDuty);
  return {
    take: db.transaction((claim: Claim, expiryMs: number) => {
      const now = Date.now();
      return take.run({ ...claim, expiresAt: now + expiryMs, now }).changes === 1;
    }).immediate,
    renew: db.transaction((claim: Claim, expiryMs: number) => renew.run({ ...claim, expiresAt: Date.now() + expiryMs }).changes === 1).immediate,
    release: db.transaction((claim: Claim) => void release.run(claim)).immediate,
  };
}
