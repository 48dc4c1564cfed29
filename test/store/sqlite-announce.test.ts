import { statSync, utimesSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sqliteStore } from '../../src/index.js';
import { ForeignEnqueues } from '../../src/store/sqlite/foreign-enqueues.js';
import { tempDatabase } from './sqlite/temp-file.js';

// An enqueue's commit is announced to other processes by touching the WAL file's times; a burst is
// announced once now and once at the end of the gap, so every commit is told within the gap.
describe('sqlite store: announcing commits to other processes', () => {
  const temp = tempDatabase('dispatch-sqlite-announce-');
  let db: Database.Database | null = null;
  let foreign: ForeignEnqueues | null = null;

  afterEach(() => {
    vi.useRealTimers();
    foreign?.stop();
    db?.close();
    temp.remove();
  });

  const PAST = new Date('2001-01-01T00:00:00Z');
  const touchedSincePast = (path: string) => statSync(path).mtimeMs > PAST.getTime() + 1000;

  it('touches the WAL file at once, then once more at the end of the gap for the commits inside it', async () => {
    const store = sqliteStore({ path: temp.path });
    await store.open();
    await store.close();
    db = new Database(temp.path);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE IF NOT EXISTS announce_probe (x)');
    db.exec('INSERT INTO announce_probe VALUES (1)');
    const wal = `${temp.path}-wal`;
    foreign = new ForeignEnqueues(db, () => undefined);
    // The gap is timed on the fake clock, so a slow machine cannot move a call past it.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });

    utimesSync(wal, PAST, PAST);
    foreign.announce();
    expect(touchedSincePast(wal)).toBe(true);

    // Three more commits inside the gap: not at once, but once, at its end.
    utimesSync(wal, PAST, PAST);
    foreign.announce();
    foreign.announce();
    foreign.announce();
    expect(touchedSincePast(wal)).toBe(false);
    vi.advanceTimersByTime(30);
    expect(touchedSincePast(wal)).toBe(true);

    // Nothing more was owed.
    utimesSync(wal, PAST, PAST);
    vi.advanceTimersByTime(30);
    expect(touchedSincePast(wal)).toBe(false);

    // Past the gap, at once again.
    foreign.announce();
    expect(touchedSincePast(wal)).toBe(true);
  });
});
