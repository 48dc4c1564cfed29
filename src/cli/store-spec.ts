import { InvalidOptionError, StoreConfigError } from '../errors.js';
import type { Store } from '../store/contract.js';
import { memoryStore } from '../store/memory/memory-store.js';
import { sqliteStore } from '../store/sqlite/sqlite-store.js';

export interface StoreSpecOptions {
  /** The Postgres schema (`--schema`); the store's default when left out. */
  schema?: string;
  /** Whether `memory` makes sense here: only for a worker, as no other process can reach it. */
  memory: boolean;
}

const SQLITE_FILE = /\.(db|sqlite3?)$/i;

/** What `--store` takes, for messages. */
export const STORE_FORMS = 'sqlite:<file>, a path ending in .db, or postgres://user@host:5432/db';

/**
 * The store a `--store` value names: `sqlite:<path>` (or a bare path ending
 * in .db, .sqlite or .sqlite3), `postgres://...` / `postgresql://...`, or
 * `memory` where allowed. Postgres loads `pg` only when asked for.
 */
export async function storeFrom(spec: string | undefined, options: StoreSpecOptions): Promise<Store> {
  if (spec === undefined || spec === '') {
    throw new InvalidOptionError('--store', `is required (or set DISPATCH_STORE): ${STORE_FORMS}`);
  }
  if (/^postgres(ql)?:\/\//i.test(spec)) return postgresFrom(spec, options.schema);
  if (options.schema !== undefined) throw new InvalidOptionError('--schema', 'applies only to a postgres:// store');
  if (spec === 'memory') {
    if (options.memory) return memoryStore();
    throw new InvalidOptionError('--store', 'memory keeps jobs inside one process, out of reach of this command; use a SQLite file or Postgres');
  }
  const path = spec.startsWith('sqlite:') ? spec.slice('sqlite:'.length) : SQLITE_FILE.test(spec) ? spec : undefined;
  if (path === undefined) throw new InvalidOptionError('--store', `"${spec}" is not a store: use ${STORE_FORMS}${options.memory ? ', or memory' : ''}`);
  if (path === '') throw new InvalidOptionError('--store', 'sqlite: needs a file, as in sqlite:./jobs.db');
  return renamed(() => sqliteStore({ path }));
}

async function postgresFrom(url: string, schema: string | undefined): Promise<Store> {
  let entry: typeof import('../postgres.js');
  try {
    entry = await import('../postgres.js');
  } catch (error) {
    if (missingPg(error)) {
      throw new StoreConfigError('--store', 'a postgres:// store needs the pg package, an optional peer dependency: npm install pg');
    }
    throw error;
  }
  return renamed(() => entry.postgresStore({ connectionString: url, ...(schema === undefined ? {} : { schema }) }));
}

function missingPg(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && typeof message === 'string' && /['"]pg['"]/.test(message);
}

/** A store's own refusal, renamed to the option it came from: `path` and `connectionString` are `--store` here. */
function renamed(make: () => Store): Store {
  try {
    return make();
  } catch (error) {
    if (error instanceof StoreConfigError) {
      const option = error.field === 'schema' ? '--schema' : '--store';
      throw new StoreConfigError(option, error.reason);
    }
    throw error;
  }
}
