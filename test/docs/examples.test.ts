import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl, sql } from '../store/postgres/database.js';

const project = resolve(import.meta.dirname, '../..');
// Inside the project, so the examples find its node_modules (zod, pg) as a user's app finds its own.
const out = join(project, 'test', 'docs', '.generated');
/** tsx, as the project's own scripts run TypeScript; by URL, as the examples run in a scratch directory. */
const tsx = pathToFileURL(join(project, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

const markdown = ['README.md', ...readdirSync(join(project, 'docs'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];

interface Example {
  name: string;
  file: string;
  code: string;
}

/** An example that makes tests (it imports vitest or calls a suite helper) runs under vitest, as its reader would run it. */
const isSuite = (code: string) => code.includes("from 'vitest'") || /\b(storeSuite|chartTests)\(/.test(code);

/** The TypeScript blocks of the docs, importing this checkout where they name the package. */
const examples: Example[] = markdown.flatMap((doc) => {
  const text = readFileSync(join(project, doc), 'utf8');
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m, i) => ({
    name: `${doc} #${i + 1}`,
    file: join(out, `${doc.replaceAll('/', '_').replace(/\.md$/, '')}-${i + 1}${isSuite(m[1]!) ? '.test' : ''}.ts`),
    code: m[1]!
      .replaceAll("from 'dispatch-ts/postgres'", `from '${join(project, 'src', 'postgres.js')}'`)
      .replaceAll("from 'dispatch-ts/testing'", `from '${join(project, 'src', 'testing.js')}'`)
      .replaceAll("from 'dispatch-ts'", `from '${join(project, 'src', 'index.js')}'`),
  }));
});

function typeErrors(files: string[]): string[] {
  const config = ts.readConfigFile(join(project, 'tsconfig.json'), ts.sys.readFile).config;
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, project);
  const program = ts.createProgram(files, { ...options, noEmit: true });
  return ts.getPreEmitDiagnostics(program).map((d) => `${d.file ? relative(project, d.file.fileName) : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}

describe('the TypeScript examples of README.md and docs/', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'examples-'));
  // A database of their own: the examples use the default schema and make tables.
  const database = `docs_${randomBytes(5).toString('hex')}`;
  let url: string;
  const printed = new Map<string, string>();

  beforeAll(async () => {
    mkdirSync(out, { recursive: true });
    for (const example of examples) writeFileSync(example.file, `${example.code}\nexport {};\n`);
    await sql(`CREATE DATABASE ${database}`);
    const parsed = new URL(databaseUrl());
    parsed.pathname = `/${database}`;
    url = parsed.toString();
  });

  afterAll(async () => {
    rmSync(out, { recursive: true, force: true });
    rmSync(cwd, { recursive: true, force: true });
    await sql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  it('are found, in README.md, the concepts, each store page and each feature page', () => {
    const docs = new Set(examples.map((e) => e.name.split(' #')[0]));
    const pages = ['README.md', 'docs/concepts.md', 'docs/stores/postgres.md', 'docs/stores/sqlite.md', 'docs/testing.md'];
    pages.push('docs/queues.md', 'docs/unique-jobs.md', 'docs/cron.md', 'docs/progress.md', 'docs/retention.md', 'docs/finding-jobs.md', 'docs/cli.md', 'docs/admin.md', 'docs/observability.md', 'docs/history.md');
    for (const doc of pages) expect(docs).toContain(doc);
  });

  it('type-check as written', () => {
    expect(typeErrors(examples.map((e) => e.file))).toEqual([]);
  }, 60_000);

  it('run as written, each on its own', () => {
    for (const example of examples) {
      const command = isSuite(example.code)
        ? [join(project, 'node_modules', 'vitest', 'vitest.mjs'), 'run', relative(project, example.file), '--root', project]
        : ['--import', tsx, example.file];
      try {
        printed.set(example.name, execFileSync('node', command, { cwd: isSuite(example.code) ? project : cwd, encoding: 'utf8', timeout: 90_000, env: { ...process.env, DATABASE_URL: url, NO_COLOR: '1', FORCE_COLOR: '0' } }));
      } catch (error) {
        throw new Error(`${example.name} failed: ${String((error as { stderr?: string }).stderr ?? error)}`);
      }
    }
  }, 300_000);

  it('do what they say', async () => {
    const readme = printed.get('README.md #1') ?? '';
    // The first job completes with its result; the bounced one lands in the DLQ with its reason; the scheduled one is cancelled.
    expect(readme).toMatch(/^completed \d{4}-\d\d-\d\dT/m);
    expect(readme).toContain('we only mail example.com');
    expect(readme).toMatch(/-CANCEL->\s*cancelled/);
    const of = (marker: string) => printed.get(examples.find((e) => e.code.includes(marker))!.name) ?? '';
    expect(of('inspect: (event)')).toMatch(/"running".*"completed"/);
    expect(of('inspect: (event)')).toContain('{"running":"leasing"}');
    expect(of('toDirectedGraph').split('\n')).toEqual(expect.arrayContaining(['pending -LEASE-> running', 'running -FAIL-> retrying', 'dlq -REPLAY-> pending']));
    expect(of('const invoice').trim()).toBe('12');
    // 9:00 in Berlin is 8:00 UTC in January; the tick's job ran.
    expect(of("'morning-report'")).toContain('2030-01-01T08:00:00.000Z completed report for core');
    // The suites ran their tests: the store's conformance and every path of the door.
    expect(of('storeSuite(')).toMatch(/Tests\s+87 passed/);
    // A retried job's story, both steps of the lease that took it again among them.
    expect(of("workerId: 'box-1'").split('\n')).toEqual(expect.arrayContaining([
      '(new) -> pending xstate.init #0 client',
      'running -> retrying FAIL #1 box-1 first try',
      'retrying -> pending xstate.after.backoff.job.retrying #1 box-1',
      'running -> completed SUCCEED #2 box-1',
    ]));
    expect(of('const door')).toMatch(/Tests\s+4 passed/); // one a transition: OPEN, LOCK, CLOSE, UNLOCK
    expect(of('createTestDispatcher({ jobs')).toMatch(/Tests\s+1 passed/);
    expect(of('chartPaths(jobMachine')).toMatch(/^\d{2} \(start\)|^\d{2} LEASE/);
    // The job run shows in both exports of the metrics.
    expect(of('prometheusMetrics(dispatcher)')).toContain('dispatch_jobs_completed_total{queue="default",name="resize"} 1');
    expect(of('prometheusMetrics(dispatcher)')).toMatch(/\{ queue: 'default', name: 'resize' \} 1/);
    // The job enqueued inside the transaction committed with it.
    const client = new URL(url);
    const rows = await sqlIn(client.toString(), 'SELECT count(*)::int AS n FROM dispatch.jobs WHERE name = $1', ['send_receipt']);
    expect(rows[0]!.n).toBe(1);
  });
});

async function sqlIn(url: string, text: string, values: unknown[]): Promise<Array<{ n: number }>> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ n: number }>(text, values)).rows;
  } finally {
    await client.end();
  }
}
