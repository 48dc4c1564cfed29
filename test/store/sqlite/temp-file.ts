import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh folder under the OS temp dir with a database path in it, and a way to remove it all. */
export function tempDatabase(prefix = 'dispatch-sqlite-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    path: join(dir, 'jobs.db'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
