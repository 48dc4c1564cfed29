import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  [key: string]: unknown;
}

interface Lock {
  packages: Record<string, LockEntry>;
}

/** Where Node would find `name` from the package installed at `from` (a lock path such as node_modules/a). */
function resolve(lock: Lock, from: string, name: string): string | null {
  for (let dir = from; ; ) {
    const candidate = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (!dir) return null;
    const at = dir.lastIndexOf('/node_modules/');
    dir = at < 0 ? '' : dir.slice(0, at);
  }
}

/**
 * The package.json and lock file of a new app that depends on the packed
 * tarball and on `extra` packages, with every other package pinned as the
 * project's own lock file has it: `npm ci --offline` then installs from the
 * local cache, as a user's install would from the registry.
 */
export function appManifest(projectLockPath: string, tarball: string, appDir: string, extra: readonly string[]) {
  const lock = JSON.parse(readFileSync(projectLockPath, 'utf8')) as Lock;
  const packed = JSON.parse(readFileSync(`${appDir}/packed-package.json`, 'utf8')) as LockEntry & { name: string };
  const spec = `file:${relative(appDir, tarball)}`;
  const packages: Record<string, LockEntry> = {};
  const wanted: Array<[string, string]> = [];
  const add = (from: string, deps: Record<string, string> | undefined, optional: boolean) => {
    for (const name of Object.keys(deps ?? {})) {
      const at = resolve(lock, from, name);
      if (at) wanted.push([at, name]);
      else if (!optional) throw new Error(`${name}, needed by ${from || 'the app'}, is not in the project's lock file`);
    }
  };
  add('', packed.dependencies, false);
  add('', Object.fromEntries(extra.map((name) => [name, '*'])), false);
  while (wanted.length > 0) {
    const [at] = wanted.pop()!;
    if (packages[at]) continue;
    const entry = { ...lock.packages[at]! };
    delete entry.dev;
    delete entry.devOptional;
    packages[at] = entry;
    add(at, entry.dependencies, false);
    add(at, entry.optionalDependencies, true);
  }
  const dependencies: Record<string, string> = { [packed.name]: spec };
  for (const name of extra) dependencies[name] = lock.packages[`node_modules/${name}`]!.version!;
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  packages[`node_modules/${packed.name}`] = {
    version: packed.version,
    resolved: spec,
    integrity,
    dependencies: packed.dependencies,
    // npm ci links a package's bins from its lock entry, not from the package it unpacks.
    ...(packed.bin ? { bin: packed.bin } : {}),
    ...(packed.peerDependencies ? { peerDependencies: packed.peerDependencies } : {}),
    ...(packed.peerDependenciesMeta ? { peerDependenciesMeta: packed.peerDependenciesMeta } : {}),
  };
  const manifest = { name: 'app', version: '1.0.0', private: true, type: 'module', dependencies };
  const appLock = { name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'app', version: '1.0.0', dependencies }, ...packages } };
  return { manifest, lock: appLock };
}
