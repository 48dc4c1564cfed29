import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../src/index.js';
import { ADMIN_SQL } from '../../src/store/sqlite/job-admin.js';
import { tempDatabase } from './sqlite/temp-file.js';

describe('sqlite store: progress, reschedule, filtered lists, counts and retention use an index', () => {
  const temp = tempDatabase();
  afterEach(() => temp.remove());

  it('plans each statement through the primary key or a listing index, with no scan or sort', async () => {
    const store = sqliteStore({ path: temp.path });
    await store.open();
    await store.close();
    const db = new Database(temp.path);
    try {
      const plan = (sql: string) => {
        const named = [...sql.matchAll(/@(\w+)/g)].map((m) => m[1]!);
        const args = named.length > 0 ? [Object.fromEntries(named.map((n) => [n, 1]))] : Array((sql.match(/\?/g) ?? []).length).fill(1);
        return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Array<{ detail: string }>).map((r) => r.detail).join(' / ');
      };
      const expected: Array<[keyof typeof ADMIN_SQL, string]> = [
        ['progress', 'USING INTEGER PRIMARY KEY (rowid=?)'],
        ['reschedule', 'USING INTEGER PRIMARY KEY (rowid=?)'],
        // No index by queue (it cost enqueues a quarter of their rate): the state's rows, in order.
        ['listQueue', 'USING INDEX dispatch_jobs_state (state=? AND rowid>?)'],
        ['countsQueue', 'USING INDEX dispatch_jobs_state (state=?)'],
        // The state index ends in the rowid, so one range of ids in one state is one seek.
        ['expiredInRange', 'USING INDEX dispatch_jobs_state (state=? AND rowid>? AND rowid<?)'],
        ['nextAfter', 'USING INTEGER PRIMARY KEY (rowid>?)'],
        ['removeJobs', 'USING INDEX dispatch_jobs_state (state=? AND rowid=?)'],
      ];
      for (const [name, index] of expected) {
        const detail = plan(ADMIN_SQL[name]);
        expect(detail, name).toContain(index);
        expect(detail, name).not.toContain('TEMP B-TREE');
        expect(detail, name).not.toMatch(/SCAN dispatch_jobs(?! USING)/);
      }
    } finally {
      db.close();
    }
  });
});
