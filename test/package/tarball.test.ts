import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appManifest } from './app-lock.js';

const project = resolve(import.meta.dirname, '../..');
const tsc = join(project, 'node_modules', 'typescript', 'bin', 'tsc');

/** What a user's ESM script sees: a job run on the embedded store, and whether pg was loaded on the way. */
const script = `
import { createRequire } from 'node:module';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
const { createDispatcher, defineJob, sqliteStore, InvalidInputError } = await import('dispatch-ts');
const loaded = () => Object.keys(createRequire(import.meta.url).cache).filter((p) => p.includes('/node_modules/pg/'));
const pgAfterMain = loaded().length;
const double = defineJob({ name: 'double', input: z.object({ n: z.number() }), output: z.number(), handler: async ({ n }) => n * 2 });
const dispatcher = createDispatcher({ store: sqliteStore({ path: join(mkdtempSync(join(tmpdir(), 'app-')), 'jobs.db') }) });
dispatcher.register(double);
await dispatcher.start();
const job = await dispatcher.enqueue(double, { n: 21 });
const done = await dispatcher.waitFor(job, { timeout: 10_000 });
let refused = '';
try { await dispatcher.enqueue(double, { n: 'x' }); } catch (e) { refused = e instanceof InvalidInputError ? e.field : String(e); }
await dispatcher.stop();
const { postgresStore } = await import('dispatch-ts/postgres');
console.log(JSON.stringify({ state: done.state, result: done.result, refused, pgAfterMain, pgAfterPostgres: loaded().length, postgresStore: typeof postgresStore }));
`;

/** The dashboard as an installed package serves it: its page, its files, and the chart laid out by dagre. */
const dashboard = `
import { createDispatcher, memoryStore, serveAdmin } from 'dispatch-ts';
const dispatcher = createDispatcher({ store: memoryStore() });
const admin = await serveAdmin(dispatcher, { port: 0 });
const get = async (path) => { const r = await fetch(new URL(path, admin.url)); return { status: r.status, type: r.headers.get('content-type'), text: await r.text() }; };
const [page, app, chart] = await Promise.all([get(''), get('assets/app.js'), get('api/chart')]);
await admin.close();
await dispatcher.stop();
console.log(JSON.stringify({ page: page.status, app: app.status, appType: app.type, chartStates: JSON.parse(chart.text).states.length }));
`;

/** What a user's TypeScript sees, checked with --strict and without skipLibCheck. */
const typed = `
import { z } from 'zod';
import { createDispatcher, defineJob, memoryStore, type Duration, type RecordOf } from 'dispatch-ts';
import { postgresStore, type PostgresStoreOptions } from 'dispatch-ts/postgres';

const greet = defineJob({ name: 'greet', input: z.object({ who: z.string() }), output: z.string(), handler: async ({ who }) => 'hi ' + who });
const dispatcher = createDispatcher({ store: memoryStore() });
dispatcher.register(greet);
export async function run(): Promise<string | null> {
  const job = await dispatcher.enqueue(greet, { who: 'ada' }, { delay: '10s' });
  const record: RecordOf<typeof greet> = await dispatcher.waitFor(job);
  // @ts-expect-error: the input type follows the schema
  await dispatcher.enqueue(greet, { who: 1 });
  // @ts-expect-error: a duration is milliseconds or a string such as '10s'
  await dispatcher.enqueue(greet, { who: 'x' }, { delay: '10 bananas' });
  return record.result;
}
const ok: Duration = '2h';
const options: PostgresStoreOptions = { connectionString: 'postgres://localhost/app' };
export const made = [ok, postgresStore(options)] as const;
`;

describe('the package as users get it', () => {
  let work: string;
  let app: string;
  let tarball: string;
  let files: string[];

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'dispatch-pack-'));
    // As npm pack of a fresh clone runs it: `prepare` builds first.
    const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: project, encoding: 'utf8' })) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    tarball = join(work, packed[0]!.filename);
    files = packed[0]!.files.map((f) => f.path);
    app = join(work, 'app');
    execFileSync('mkdir', ['-p', app]);
    execFileSync('tar', ['-xzf', tarball, '-C', work, 'package/package.json']);
    execFileSync('cp', [join(work, 'package', 'package.json'), join(app, 'packed-package.json')]);
    // A user of the Postgres entry installs pg and its types; zod for their schemas.
    const { manifest, lock } = appManifest(join(project, 'package-lock.json'), tarball, app, ['zod', 'pg', '@types/pg']);
    writeFileSync(join(app, 'package.json'), JSON.stringify(manifest, null, 2));
    writeFileSync(join(app, 'package-lock.json'), JSON.stringify(lock, null, 2));
    execFileSync('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: app, stdio: 'pipe' });
  }, 300_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('packs the build and its declarations, and nothing of the tests or the bench', () => {
    for (const path of ['dist/src/cli/bin.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/postgres.js', 'dist/src/postgres.d.ts', 'dist/src/testing.js', 'dist/src/testing.d.ts', 'dist/machines/job.machine.js', 'package.json', 'README.md']) {
      expect(files).toContain(path);
    }
    expect(files.filter((f) => !f.startsWith('dist/') && f !== 'package.json' && f !== 'README.md')).toEqual([]);
    expect(files.filter((f) => /^dist\/(test|bench|examples)\//.test(f))).toEqual([]);
  });

  it('ships the dashboard: serveAdmin serves its page, its files and the laid-out chart from the installed package', () => {
    for (const path of ['dist/src/admin/ui/index.html', 'dist/src/admin/ui/app.js', 'dist/src/admin/ui/chart.js', 'dist/src/admin/ui/style.css']) expect(files).toContain(path);
    writeFileSync(join(app, 'dashboard.mjs'), dashboard);
    const out = JSON.parse(execFileSync('node', ['dashboard.mjs'], { cwd: app, encoding: 'utf8' }).trim().split('\n').pop()!);
    expect(out).toEqual({ page: 200, app: 200, appType: expect.stringContaining('javascript'), chartStates: 7 });
  });

  it('ships source maps that carry their sources, as src/ is not shipped', () => {
    const map = JSON.parse(readFileSync(join(app, 'node_modules', 'dispatch-ts', 'dist', 'src', 'worker', 'job-runner.js.map'), 'utf8')) as { sourcesContent?: string[] };
    expect(map.sourcesContent?.[0]).toContain('export class JobRunner');
  });

  it('runs a job from an ESM script on the embedded store, and loads pg only through dispatch-ts/postgres', () => {
    writeFileSync(join(app, 'main.mjs'), script);
    const out = JSON.parse(execFileSync('node', ['main.mjs'], { cwd: app, encoding: 'utf8' }).trim().split('\n').pop()!);
    expect(out).toEqual({ state: 'completed', result: 42, refused: 'input.n', pgAfterMain: 0, pgAfterPostgres: expect.any(Number), postgresStore: 'function' });
    expect(out.pgAfterPostgres).toBeGreaterThan(0);
  });

  it('installs the dispatch bin: --help, the chart, and enqueue from a TypeScript jobs module', () => {
    const bin = join(app, 'node_modules', '.bin', 'dispatch');
    const dispatch = (args: string[]) => execFileSync(bin, args, { cwd: app, encoding: 'utf8', env: { ...process.env, DISPATCH_STORE: 'sqlite:./cli.db' } });
    expect(dispatch(['--help'])).toMatch(/^Usage: dispatch \[options\] \[command\]/);
    expect(dispatch(['chart'])).toMatch(/^stateDiagram-v2\n {2}\[\*\] --> pending\n/);
    expect(dispatch(['chart', '--format', 'dot'])).toMatch(/^digraph "job" \{/);
    writeFileSync(
      join(app, 'jobs.ts'),
      `import { z } from 'zod';\nimport { defineJob } from 'dispatch-ts';\nexport const greet = defineJob({ name: 'greet', input: z.object({ who: z.string() }), handler: ({ who }: { who: string }) => 'hi ' + who });\n`,
    );
    const id = dispatch(['enqueue', 'greet', '{"who":"ada"}', '--jobs', './jobs.ts']).trim();
    const listed = JSON.parse(dispatch(['jobs', 'ls', '--state', 'pending', '--json'])) as { jobs: Array<{ id: string; input: unknown }> };
    expect(listed.jobs).toEqual([expect.objectContaining({ id, input: { who: 'ada' } })]);
  });

  it('type-checks a user app with --strict and without skipLibCheck', () => {
    writeFileSync(join(app, 'app.ts'), typed);
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false }, files: ['app.ts'] }),
    );
    let errors = '';
    try {
      execFileSync('node', [tsc, '-p', app], { cwd: app, encoding: 'utf8', stdio: 'pipe' });
    } catch (error) {
      errors = String((error as { stdout?: string }).stdout ?? error);
    }
    expect(errors).toBe('');
    expect(readdirSync(join(app, 'node_modules'))).not.toContain('typescript');
  });
});
