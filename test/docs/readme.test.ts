import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const project = resolve(import.meta.dirname, '../..');
// Inside the project, so the examples find its node_modules (zod) as a user's app finds its own.
const out = join(project, 'test', 'docs', '.generated');
/** tsx, as the project's own scripts run TypeScript; by URL, as the example runs in a scratch directory. */
const tsx = pathToFileURL(join(project, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

/** The TypeScript blocks of a Markdown file, importing this checkout where they name the package. */
function tsBlocks(file: string): string[] {
  const text = readFileSync(join(project, file), 'utf8');
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) =>
    m[1]!
      .replaceAll("from 'dispatch-ts/postgres'", `from '${join(project, 'src', 'postgres.js')}'`)
      .replaceAll("from 'dispatch-ts'", `from '${join(project, 'src', 'index.js')}'`),
  );
}

function typeErrors(files: string[]): string[] {
  const config = ts.readConfigFile(join(project, 'tsconfig.json'), ts.sys.readFile).config;
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, project);
  const program = ts.createProgram(files, { ...options, noEmit: true });
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe('README.md', () => {
  const blocks = tsBlocks('README.md');
  const files = blocks.map((_, i) => join(out, `readme-${i}.ts`));
  const cwd = mkdtempSync(join(tmpdir(), 'readme-'));
  mkdirSync(out, { recursive: true });
  blocks.forEach((block, i) => writeFileSync(files[i]!, `${block}\nexport {};\n`));

  afterAll(() => {
    rmSync(out, { recursive: true, force: true });
    rmSync(cwd, { recursive: true, force: true });
  });

  it('has its TypeScript examples type-check as written', () => {
    expect(blocks.length).toBeGreaterThan(0);
    expect(typeErrors(files)).toEqual([]);
  });

  it('has its "Use it" example run and do what it says', () => {
    const printed = execFileSync('node', ['--import', tsx, files[0]!], { cwd, encoding: 'utf8', timeout: 60_000 });
    // The first job completes with its result; the bounced one lands in the DLQ with its reason.
    expect(printed).toMatch(/^completed \d{4}-\d\d-\d\dT/m);
    expect(printed).toContain('we only mail example.com');
    expect(printed).toMatch(/-CANCEL->\s*cancelled/);
  }, 60_000);
});
