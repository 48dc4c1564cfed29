import { z } from 'zod';
import { type AdminServer, createDispatcher, defineJob, type Dispatcher, PermanentError, serveAdmin, type ServeAdminOptions } from '../../src/index.js';
import type { StoreTarget } from '../support/store-targets.js';

/** A job that sleeps `ms`, then fails for good when asked, or answers its input doubled. */
export const work = defineJob({
  name: 'work',
  input: z.object({ n: z.number(), ms: z.number().optional(), fail: z.boolean().optional() }),
  output: z.object({ doubled: z.number() }),
  maxRetries: 0,
  handler: async ({ n, ms, fail }, ctx) => {
    if (ms) await new Promise((resolve) => setTimeout(resolve, ms));
    await ctx.progress({ done: n });
    if (fail) throw new PermanentError(`job ${n} was told to fail`);
    return { doubled: n * 2 };
  },
});

export const other = defineJob({ name: 'other', input: z.object({}), handler: async () => {} });

export interface AdminHarness {
  dispatcher: Dispatcher;
  server: AdminServer;
  url: string;
  /** Fetches `path` under the server, as JSON (with the token when given). */
  call(path: string, init?: { method?: string; body?: unknown; token?: string }): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

/** A started dispatcher on `target`'s store, and its admin server on a free port. */
export async function startAdmin(target: StoreTarget, options: ServeAdminOptions = {}, started = true): Promise<AdminHarness> {
  const dispatcher = createDispatcher({ store: target.open(), onError: () => undefined, retention: false, concurrency: 4 });
  dispatcher.registerAll([work, other]);
  if (started) await dispatcher.start();
  const server = await serveAdmin(dispatcher, { port: 0, sampleEvery: 100, onError: () => undefined, ...options });
  const url = server.url;
  return {
    dispatcher,
    server,
    url,
    async call(path, init = {}) {
      const headers: Record<string, string> = {};
      if (init.body !== undefined || (init.method ?? 'GET') !== 'GET') headers['content-type'] = 'application/json';
      if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
      const response = await fetch(new URL(path, url), {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers,
        ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
      });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Not JSON: the text itself.
      }
      return { status: response.status, body };
    },
    async close() {
      await server.close();
      await dispatcher.stop();
    },
  };
}

/** Reads Server-Sent Events from a response until `done` says it has enough; answers the events read. */
export async function readEvents(
  response: Response,
  done: (events: Array<{ event: string; data: any }>) => boolean,
): Promise<Array<{ event: string; data: any }>> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const events: Array<{ event: string; data: any }> = [];
  let buffer = '';
  while (!done(events)) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
      const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
      if (event) events.push({ event, data: JSON.parse(data) });
    }
  }
  reader.releaseLock();
  return events;
}
