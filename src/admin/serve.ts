import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import { z } from 'zod';
import type { Dispatcher } from '../engine/dispatcher.js';
import { InvalidOptionError } from '../errors.js';
import { parseOrThrow } from '../job/options.js';
import { createAdmin } from './app.js';
import type { AdminOptions } from './options.js';

export interface ServeAdminOptions extends AdminOptions {
  /** The port to listen on; 0 for any free one. Default 4300. */
  port?: number;
  /**
   * The address to bind. Default `127.0.0.1`: only this machine can reach it.
   * Bound elsewhere without a `token`, it is read-only (every change is a 403).
   */
  host?: string;
}

/** A running admin server. */
export interface AdminServer {
  /** Where it listens, e.g. `http://127.0.0.1:4300/`. */
  url: string;
  /** Ends open event streams and stops listening; resolves once every connection is closed. */
  close(): Promise<void>;
}

const DEFAULT_PORT = 4300;
const DEFAULT_HOST = '127.0.0.1';
/** How long close() lets requests under way finish before it cuts their connections. */
const CLOSE_GRACE_MS = 2000;

const serveFields = z.object({
  port: z.number({ error: 'must be a number' }).int({ error: 'must be a whole number' }).min(0, { error: 'must be 0 (any free port) to 65535' }).max(65535, { error: 'must be 0 (any free port) to 65535' }).optional(),
  host: z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }).optional(),
});

/** Whether `host` is reachable from this machine only. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '[::1]' || host.startsWith('::ffff:127.');
}

/**
 * Serves the admin API and the dashboard of `dispatcher` over HTTP (Node's
 * server, through @hono/node-server) and answers once it listens.
 */
export async function serveAdmin(dispatcher: Dispatcher, options: ServeAdminOptions = {}): Promise<AdminServer> {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'must be an object such as { port: 4300 }');
  const { port: givenPort, host: givenHost, ...adminOptions } = options;
  const { port = DEFAULT_PORT, host = DEFAULT_HOST } = parseOrThrow(serveFields, { port: givenPort, host: givenHost }, '');
  // Reachable from elsewhere with no token: anyone who can reach it may look, nobody may change anything.
  const readOnly = adminOptions.readOnly === true || (!isLoopback(host) && adminOptions.token === undefined);
  const admin = createAdmin(dispatcher, { ...adminOptions, readOnly });
  const { createAdaptorServer } = await import('@hono/node-server');
  const server = createAdaptorServer({ fetch: admin.app.fetch, hostname: host }) as Server;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    admin.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${shown}:${address.port}/`,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        admin.close();
        // A connection goes idle once its response (an event stream just ended) is flushed; sweep
        // until all are, then cut what a slow request still holds.
        const sweep = setInterval(() => server.closeIdleConnections(), 20);
        const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        server.close((error) => {
          clearInterval(sweep);
          clearTimeout(cut);
          if (error) reject(error);
          else resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
