import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const project = resolve(import.meta.dirname, '../..');

describe('the API reference', () => {
  const out = mkdtempSync(join(tmpdir(), 'api-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('builds from the declarations with no warning: every type the API names is exported and documented', () => {
    // The script's own command (typedoc --treatWarningsAsErrors), into a scratch directory.
    execFileSync('npx', ['typedoc', '--treatWarningsAsErrors', '--out', out], { cwd: project, stdio: 'pipe' });
    for (const page of ['index.html', 'functions/index.createDispatcher.html', 'functions/postgres.postgresStore.html', 'types/index.Duration.html']) {
      expect(existsSync(join(out, page)), page).toBe(true);
    }
  }, 60_000);
});
