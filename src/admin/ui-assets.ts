import { readdir, readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { Hono } from 'hono';

/** The dashboard's files: plain HTML, CSS and browser modules, shipped as they are (the build copies them). */
const UI_DIR = new URL('./ui/', import.meta.url);

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** The files, read once on first use. */
let files: Promise<Map<string, string>> | null = null;

async function load(): Promise<Map<string, string>> {
  const names = (await readdir(UI_DIR)).filter((name) => extname(name) in TYPES);
  return new Map(await Promise.all(names.map(async (name) => [name, await readFile(new URL(name, UI_DIR), 'utf8')] as const)));
}

/** The dashboard: its page at `/`, its files under `/assets/`. They hold no data, so they need no token. */
export function uiRoutes(): Hono {
  const app = new Hono();
  const serve = async (name: string): Promise<Response | null> => {
    files ??= load().catch((error: unknown) => {
      files = null;
      throw error;
    });
    const text = (await files).get(name);
    if (text === undefined) return null;
    return new Response(text, { headers: { 'content-type': TYPES[extname(name)]!, 'cache-control': 'no-cache' } });
  };
  app.get('/', async (c) => (await serve('index.html')) ?? c.notFound());
  app.get('/assets/:file', async (c) => {
    const name = c.req.param('file');
    return (name !== 'index.html' && (await serve(name))) || c.notFound();
  });
  return app;
}
