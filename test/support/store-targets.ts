import { memoryStore, sqliteStore, type Store } from '../../src/index.js';
import { postgresStore } from '../../src/postgres.js';
import { databaseUrl, dropSchema, freshSchema } from '../store/postgres/database.js';
import { tempDatabase } from '../store/sqlite/temp-file.js';

/** One backing store, and a way to open it again as another process would (memory: the same store). */
export interface StoreTarget {
  open: () => Store;
  cleanup: () => Promise<void>;
}

/** Each store kind, made fresh per call: for engine tests that run on all three. */
export function storeTargets(prefix: string): Record<'memory' | 'sqlite' | 'postgres', () => StoreTarget> {
  return {
    memory: () => {
      const store = memoryStore();
      return { open: () => store, cleanup: async () => undefined };
    },
    sqlite: () => {
      const temp = tempDatabase(prefix);
      return { open: () => sqliteStore({ path: temp.path }), cleanup: async () => temp.remove() };
    },
    postgres: () => {
      const schema = freshSchema();
      return {
        open: () => postgresStore({ connectionString: databaseUrl(), schema, onError: () => undefined }),
        cleanup: async () => void (await dropSchema(schema)),
      };
    },
  };
}
