import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DispatchError, InvalidOptionError } from '../errors.js';
import type { AnyJobDefinition } from '../job/define-job.js';

/**
 * Whether a value is what defineJob made. Looked at by shape, not identity:
 * the jobs file may load its own copy of this package (a local install
 * under a global CLI), whose definitions are just as good.
 */
function isDefinition(value: unknown): value is AnyJobDefinition {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Partial<Record<keyof AnyJobDefinition, unknown>>;
  return typeof v.name === 'string' && typeof v.handler === 'function' && typeof v.input === 'object' && v.input !== null && typeof v.options === 'object';
}

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts', '.tsx']);

/**
 * The job definitions a `--jobs` module exports: every export that is a
 * definition, and the definitions of a default export that is one or an
 * array of them. TypeScript is loaded through tsx; JavaScript with import().
 */
export async function loadJobs(path: string, cwd = process.cwd()): Promise<AnyJobDefinition[]> {
  const file = resolve(cwd, path);
  if (!existsSync(file)) throw new InvalidOptionError('--jobs', `${path} does not exist`);
  const url = pathToFileURL(file).href;
  let exports: Record<string, unknown>;
  try {
    exports = TYPESCRIPT.has(extname(file)) ? await importTypeScript(url) : ((await import(url)) as Record<string, unknown>);
  } catch (error) {
    throw new DispatchError(`--jobs: loading ${path} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const found = new Set<AnyJobDefinition>();
  for (const [name, value] of Object.entries(exports)) {
    if (isDefinition(value)) found.add(value);
    else if (name === 'default' && Array.isArray(value)) for (const item of value) if (isDefinition(item)) found.add(item);
  }
  if (found.size === 0) {
    throw new InvalidOptionError('--jobs', `${path} exports no job definitions (export what defineJob returns, or a default array of them)`);
  }
  return [...found];
}

/** Modules loaded through tsx, by URL: import() loads a module once per process, and so does this. */
const typescriptModules = new Map<string, Promise<Record<string, unknown>>>();

function importTypeScript(url: string): Promise<Record<string, unknown>> {
  let loading = typescriptModules.get(url);
  if (!loading) {
    loading = import('tsx/esm/api').then(({ tsImport }) => tsImport(url, import.meta.url) as Promise<Record<string, unknown>>);
    // A failed load is not kept: the file may be fixed before the next try.
    loading.catch(() => typescriptModules.delete(url));
    typescriptModules.set(url, loading);
  }
  return loading;
}
