/**
 * The PostgreSQL store, an entry of its own (`dispatch-ts/postgres`): `pg`
 * is an optional peer dependency, loaded only by apps that import this.
 */
export { postgresStore, PostgresStore } from './store/postgres/postgres-store.js';
export type { PostgresStoreOptions } from './store/postgres/options.js';
