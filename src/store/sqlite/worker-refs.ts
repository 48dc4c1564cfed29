import type { Database } from 'better-sqlite3';

/**
 * The numbers history entries name workers by on SQLite (see history-sql.ts):
 * a worker's name is stored once, in dispatch_workers, and each entry holds
 * its row's id. Known ids are kept here both ways; ids never change, and
 * rows are never removed.
 */
export function workerRefs(db: Database) {
  const add = db.prepare<[string]>('INSERT INTO dispatch_workers (name) VALUES (?) ON CONFLICT (name) DO NOTHING');
  const find = db.prepare<[string], { id: number }>('SELECT id FROM dispatch_workers WHERE name = ?');
  const named = db.prepare<[string], { id: number; name: string }>('SELECT id, name FROM dispatch_workers WHERE id IN (SELECT value FROM json_each(?))');
  const refs = new Map<string, number>();
  const names = new Map<number, string>();
  const know = (id: number, name: string) => {
    refs.set(name, id);
    names.set(id, name);
  };

  return {
    /**
     * The number for `name`, adding its row on first use; null for no worker.
     * Called outside any transaction, so the row is committed before an entry
     * names it and a rolled-back write cannot leave a number here that the
     * file does not hold.
     */
    refOf(name: string | null | undefined): number | null {
      if (name === null || name === undefined) return null;
      const known = refs.get(name);
      if (known !== undefined) return known;
      if (db.inTransaction) throw new Error('dispatch: a worker is named for history inside a transaction; name it before');
      add.run(name);
      const { id } = find.get(name)!;
      know(id, name);
      return id;
    },
    /** The names known here, once those of `ids` the file holds are read in. */
    namesOf(ids: ReadonlySet<number>): ReadonlyMap<number, string> {
      const missing = [...ids].filter((id) => !names.has(id));
      if (missing.length > 0) for (const row of named.all(JSON.stringify(missing))) know(row.id, row.name);
      return names;
    },
  };
}

export type WorkerRefs = ReturnType<typeof workerRefs>;
