import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { type PostgresStoreOptions, postgresStore, type PostgresStore } from '../../../src/postgres.js';

/** The database the global setup found or started. */
export const databaseUrl = (): string => inject('databaseUrl');

/** A schema name no other test (nor a benchmark's pg-boss or graphile-worker schema) uses. */
export const freshSchema = (): string => `dispatch_t_${randomBytes(6).toString('hex')}`;

/** Runs one statement on a connection of its own. */
export async function sql<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: databaseUrl() });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

export const dropSchema = (schema: string) => sql(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);

/** An opened store on a fresh schema, and a cleanup that closes it and drops the schema. */
export async function openStore(options: Partial<PostgresStoreOptions> = {}): Promise<{ store: PostgresStore; schema: string; cleanup: () => Promise<void> }> {
  const schema = options.schema ?? freshSchema();
  const store = postgresStore({ ...(options.pool ? {} : { connectionString: databaseUrl() }), ...options, schema });
  await store.open();
  return {
    store,
    schema,
    cleanup: async () => {
      await store.close();
      await dropSchema(schema);
    },
  };
}
