import Database from 'better-sqlite3';
import { afterEach, beforeEach } from 'vitest';
import { type SqliteStore, sqliteStore, type Store } from '../../../src/index.js';
import type { spawnScript } from './processes.js';
import { tempDatabase } from './temp-file.js';

/**
 * A fresh database file for each test of the calling file, and what a test
 * opened on it (stores, plain connections, child processes) closed or killed
 * after it: here, not in the test, as a test that times out never reaches its
 * own finally.
 */
export function sqliteFileFixture(prefix?: string) {
  let temp: ReturnType<typeof tempDatabase> | null = null;
  const opened: Store[] = [];
  const connections: Database.Database[] = [];
  const children: Array<ReturnType<typeof spawnScript>> = [];

  beforeEach(() => {
    temp = tempDatabase(prefix);
  });

  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const db of connections.splice(0)) if (db.open) db.close();
    for (const store of opened.splice(0)) await store.close();
    temp?.remove();
    temp = null;
  });

  const file = () => {
    if (!temp) throw new Error('the database file exists only inside a test');
    return temp;
  };

  return {
    /** This test's file: `path`, and the folder it is in (`dir`). */
    get temp() {
      return file();
    },
    /** Stores closed after the test. */
    opened,
    /** Child processes killed after the test. */
    children,
    async openStore(options: Partial<Parameters<typeof sqliteStore>[0]> = {}): Promise<SqliteStore> {
      const store = sqliteStore({ path: file().path, ...options });
      await store.open();
      opened.push(store);
      return store;
    },
    /** A second, plain connection to the same file, as another process would have. */
    rawConnection(): Database.Database {
      const db = new Database(file().path);
      connections.push(db);
      return db;
    },
  };
}
