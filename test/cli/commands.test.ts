import { writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { jobMachine } from '../../machines/job.machine.js';
import { chartGraph } from '../../src/chart/graph.js';
import { toDot, toMermaid } from '../../src/chart/text.js';
import { createDispatcher, defineJob, type JobRecord, sqliteStore } from '../../src/index.js';
import { MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { tempDatabase } from '../store/sqlite/temp-file.js';
import { until } from '../support/until.js';
import { cli, cliJson, JOBS } from './run-cli.js';

const doomed = defineJob({
  name: 'doomed',
  input: z.object({ n: z.number() }),
  maxRetries: 0,
  handler: () => {
    throw new Error('doomed to fail');
  },
});

describe('dispatch, run in-process on a SQLite file', () => {
  let temp: ReturnType<typeof tempDatabase>;
  let store: string[];
  beforeEach(() => {
    temp = tempDatabase('dispatch-cli-');
    store = ['--store', `sqlite:${temp.path}`];
  });
  afterEach(() => temp.remove());

  /** Runs `count` doomed jobs (and any other waiting) to the DLQ with a worker of the test's own on the same file. */
  async function deadJobs(count: number, queue = 'default'): Promise<string[]> {
    const dispatcher = createDispatcher({ store: sqliteStore({ path: temp.path }), onError: () => undefined, concurrency: 50 });
    dispatcher.register(doomed);
    await dispatcher.start();
    const jobs = await dispatcher.enqueueMany(doomed, Array.from({ length: count }, (_, n) => ({ n })), { queue });
    await until(async () => {
      const c = await dispatcher.counts();
      return c.pending + c.running + c.retrying === 0;
    }, 'every job in the DLQ', 20_000);
    await dispatcher.stop();
    return jobs.map((job) => job.id);
  }

  it('prints the job chart as Mermaid, and as DOT, read from jobMachine', async () => {
    const graph = chartGraph(jobMachine);
    expect(await cli(['chart'])).toEqual({ code: 0, stdout: toMermaid(graph), stderr: '' });
    expect(await cli(['chart', '--format', 'dot'])).toEqual({ code: 0, stdout: toDot(graph), stderr: '' });
    const refused = await cli(['chart', '--format', 'png']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--format.*png.*mermaid, dot/s);
  });

  it('has --help on every command, exits 2 on a command line it refuses, and 0 for --help and --version', async () => {
    for (const command of [[], ['worker'], ['enqueue'], ['jobs', 'ls'], ['job'], ['dlq', 'ls'], ['dlq', 'replay'], ['dlq', 'purge'], ['queues', 'ls'], ['queues', 'pause'], ['schedules', 'rm'], ['migrate'], ['chart']]) {
      const help = await cli([...command, '--help']);
      expect(help.code, command.join(' ')).toBe(0);
      expect(help.stdout).toContain(`Usage: dispatch ${command.join(' ')}`.trim());
    }
    expect((await cli(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+/);
    expect((await cli([])).code).toBe(2);
    expect((await cli(['jobs'])).code).toBe(2);
    const unknown = await cli(['jobs', 'ls', '--bogus', ...store]);
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    expect(unknown.stderr).toContain("unknown option '--bogus'");
    const typo = await cli(['enqueu']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('Did you mean enqueue?');
  });

  it('finds the store in --store or DISPATCH_STORE, and refuses a missing or bad one with exit 2, naming the option', async () => {
    const missing = await cli(['jobs', 'ls']);
    expect(missing).toMatchObject({ code: 2, stdout: '' });
    expect(missing.stderr).toMatch(/^dispatch: --store: is required \(or set DISPATCH_STORE\)/);
    expect((await cli(['jobs', 'ls', '--store', 'jobs.txt'])).stderr).toMatch(/--store: "jobs.txt" is not a store/);
    expect((await cli(['jobs', 'ls', '--store', 'memory'])).stderr).toMatch(/--store: memory keeps jobs inside one process/);
    expect((await cli(['jobs', 'ls', '--store', 'sqlite:'])).code).toBe(2);
    const noFolder = await cli(['jobs', 'ls', '--store', `${temp.dir}/missing/jobs.db`]);
    expect(noFolder).toMatchObject({ code: 2 });
    expect(noFolder.stderr).toMatch(/--store: the folder .*missing does not exist/);
    expect((await cli(['jobs', 'ls', ...store, '--schema', 'x'])).stderr).toMatch(/--schema: applies only to a postgres/);
    // The environment's store, and a bare path ending in .db.
    expect(await cliJson(['jobs', 'ls'], { DISPATCH_STORE: temp.path })).toEqual({ jobs: [], nextCursor: null });
  });

  it('migrates a new file, saying what it applied, and then finds nothing to do', async () => {
    const first = await cli(['migrate', ...store]);
    expect(first.code).toBe(0);
    const latest = MIGRATIONS.at(-1)!.version;
    expect(first.stdout).toContain(`applied 1: ${MIGRATIONS[0]!.name}`);
    expect(first.stdout).toContain(`sqlite: schema from version 0 to ${latest}`);
    expect(await cliJson(['migrate', ...store])).toEqual({ store: 'sqlite', from: latest, to: latest, applied: [] });
    expect((await cli(['migrate', ...store])).stdout).toBe(`sqlite: schema at version ${latest}, nothing to do\n`);
  });

  it('enqueues by name with its input checked against the definition, and the options given', async () => {
    const { stdout, code } = await cli(['enqueue', 'greet', '{"who":"ada"}', ...store, '--jobs', JOBS]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\d+\n$/);
    const before = Date.now();
    const later = await cliJson<JobRecord>(['enqueue', 'greet', '{"who":"bo"}', ...store, '--jobs', JOBS, '--priority', '7', '--queue', 'mail', '--at', '5m']);
    expect(later).toMatchObject({ name: 'greet', input: { who: 'bo' }, priority: 7, queue: 'mail', state: 'pending' });
    const runAt = Date.parse(later.runAt as unknown as string);
    expect(runAt).toBeGreaterThanOrEqual(before + 300_000);
    expect(runAt).toBeLessThan(Date.now() + 300_000);
    const dated = await cliJson<JobRecord>(['enqueue', 'greet', '{"who":"cy"}', ...store, '--at', '2030-01-02T03:04:05Z'], { DISPATCH_JOBS: JOBS });
    expect(dated.runAt).toBe('2030-01-02T03:04:05.000Z');
    // A held key makes no second job: the holder's id, and a note.
    const keyed = await cli(['enqueue', 'greet', '{"who":"di"}', ...store, '--jobs', JOBS, '--key', 'k1']);
    const again = await cli(['enqueue', 'greet', '{"who":"di"}', ...store, '--jobs', JOBS, '--key', 'k1']);
    expect(again.stdout).toBe(keyed.stdout);
    expect(again.stderr).toContain('the key "k1" is held by job');
    expect((await cliJson<{ jobs: unknown[] }>(['jobs', 'ls', '--state', 'pending', ...store])).jobs).toHaveLength(4);
  });

  it('refuses a bad enqueue with exit 2, naming what is wrong, and stores nothing', async () => {
    const refusals: Array<[string[], RegExp]> = [
      [['greet', '{"who":1}', '--jobs', JOBS], /input\.who: .*expected string/],
      [['greet', '{who}', '--jobs', JOBS], /json: is not JSON/],
      [['nobody', '{}', '--jobs', JOBS], /no job named "nobody" is registered/],
      [['greet', '{"who":"x"}'], /--jobs: is required/],
      [['greet', '{"who":"x"}', '--jobs', JOBS, '--at', 'soon'], /--at: "soon" is not a duration/],
      [['greet', '{"who":"x"}', '--jobs', JOBS, '--at', '2030-13-45T00:00:00Z'], /--at: .*not a valid ISO 8601 time/],
      [['greet', '{"who":"x"}', '--jobs', JOBS, '--priority', 'high'], /--priority: must be a whole number/],
      [['greet', '{"who":"x"}', '--jobs', `${temp.dir}/none.ts`], /--jobs: .*none\.ts does not exist/],
      [['greet', '{"who":"x"}', '--jobs', new URL('../../package.json', import.meta.url).pathname], /--jobs: .*exports no job definitions/],
    ];
    for (const [args, message] of refusals) {
      const result = await cli(['enqueue', ...args, ...store]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stdout).toBe('');
    }
    // A module that does not load is a failure (1), not a refused command line.
    writeFileSync(`${temp.dir}/broken.mjs`, "throw new Error('no database password');\n");
    const broken = await cli(['enqueue', 'greet', '{"who":"x"}', '--jobs', `${temp.dir}/broken.mjs`, ...store]);
    expect(broken).toMatchObject({ code: 1, stdout: '' });
    expect(broken.stderr).toMatch(/^dispatch: --jobs: loading .*broken\.mjs failed: no database password\n$/);
    expect((await cliJson<{ jobs: unknown[] }>(['jobs', 'ls', ...store])).jobs).toEqual([]);
  });

  it('lists jobs by state, queue and name, a page at a time, as a table or JSON, and shows one', async () => {
    const enqueue = (name: string, input: string, queue: string) => cli(['enqueue', name, input, ...store, '--jobs', JOBS, '--queue', queue]);
    const a = (await enqueue('greet', '{"who":"a"}', 'mail')).stdout.trim();
    await enqueue('greet', '{"who":"b"}', 'sms');
    await enqueue('slow', '{"ms":1}', 'mail');
    const mail = await cliJson<{ jobs: JobRecord[] }>(['jobs', 'ls', '--state', 'pending', '--queue', 'mail', ...store]);
    expect(mail.jobs.map((j) => [j.name, j.queue])).toEqual([['greet', 'mail'], ['slow', 'mail']]);
    expect((await cliJson<{ jobs: JobRecord[] }>(['jobs', 'ls', '--name', 'slow', ...store])).jobs.map((j) => j.name)).toEqual(['slow']);
    const table = await cli(['jobs', 'ls', ...store]);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+STATE\s+NAME\s+QUEUE\s+PRIORITY\s+ATTEMPT\s+RUN AT\s+ERROR$/);
    expect(table.stdout.trim().split('\n')).toHaveLength(4);
    const page = await cli(['jobs', 'ls', '--state', 'pending', '--limit', '2', ...store]);
    expect(page.stdout.trim().split('\n')).toHaveLength(3);
    const cursor = /more: --cursor (\S+)/.exec(page.stderr)![1]!;
    const rest = await cliJson<{ jobs: JobRecord[]; nextCursor: string | null }>(['jobs', 'ls', '--state', 'pending', '--limit', '2', '--cursor', cursor, ...store]);
    expect(rest.jobs.map((j) => j.name)).toEqual(['slow']);
    expect(rest.nextCursor).toBeNull();
    expect((await cli(['jobs', 'ls', '--cursor', cursor, ...store])).code).toBe(2);
    expect((await cli(['jobs', 'ls', '--state', 'sleeping', ...store])).code).toBe(2);

    const shown = await cli(['job', a, ...store]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`^id:\\s+${a}$`, 'm'));
    expect(shown.stdout).toMatch(/^input:\s+\{"who":"a"\}$/m);
    expect(await cliJson(['job', a, ...store])).toMatchObject({ id: a, name: 'greet', queue: 'mail', state: 'pending', input: { who: 'a' } });
    expect(await cli(['job', '999999', ...store])).toEqual({ code: 1, stdout: '', stderr: 'dispatch: no job with id "999999"\n' });
  });

  it('lists the DLQ, replays one or all of it, and purges it', async () => {
    const [first, ...others] = await deadJobs(5, 'bulk');
    const listed = await cliJson<{ jobs: JobRecord[] }>(['dlq', 'ls', ...store]);
    expect(listed.jobs.map((j) => [j.state, j.lastError?.message])).toEqual(Array(5).fill(['dlq', 'doomed to fail']));
    expect((await cli(['dlq', 'ls', ...store])).stdout).toContain('doomed to fail');

    expect(await cliJson(['dlq', 'replay', first!, ...store])).toMatchObject({ id: first, state: 'pending', attempt: 0 });
    const twice = await cli(['dlq', 'replay', first!, ...store]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/is pending: REPLAY is not possible/);
    expect(await cli(['dlq', 'replay', ...store])).toEqual({ code: 2, stdout: '', stderr: 'dispatch: id: give a job id, or --all for every dead-lettered job\n' });
    expect((await cli(['dlq', 'replay', first!, '--all', ...store])).stderr).toMatch(/^dispatch: --all: .*not both/);
    expect((await cli(['dlq', 'replay', '--all', '--queue', 'other', ...store])).stdout).toBe('replayed 0 jobs\n');
    expect((await cli(['dlq', 'replay', '--all', '--queue', 'bulk', ...store])).stdout).toBe(`replayed ${others.length} jobs\n`);

    // Three more die, and the worker that runs them takes the five replayed to the DLQ again.
    await deadJobs(3);
    expect(await cliJson(['dlq', 'purge', '--before', '1h', ...store])).toMatchObject({ purged: 0 });
    expect((await cli(['dlq', 'purge', '--before', '0s', ...store])).stdout).toMatch(/^purged 8 jobs dead-lettered before /);
    expect((await cli(['dlq', 'purge', ...store])).stderr).toContain("required option '--before <time>' not specified");
    expect(await cliJson(['dlq', 'ls', ...store])).toEqual({ jobs: [], nextCursor: null });
  });

  it('draws a progress bar on a terminal while replaying or purging hundreds, and none under --json', async () => {
    await deadJobs(250);
    const drawn = await cli(['dlq', 'replay', '--all', ...store], { tty: true });
    expect(drawn.stdout).toBe('replayed 250 jobs\n');
    expect(drawn.stderr).toContain('replaying [');
    expect(drawn.stderr).toMatch(/\/250/);
    await deadJobsAgain();
    const quiet = await cli(['dlq', 'replay', '--all', '--json', ...store], { tty: true });
    expect(JSON.parse(quiet.stdout)).toEqual({ replayed: 250 });
    expect(quiet.stderr).toBe('');
    await deadJobsAgain();
    const purging = await cli(['dlq', 'purge', '--before', '0s', ...store], { tty: true });
    expect(purging.stdout).toMatch(/^purged 250 jobs dead-lettered before /);
    expect(purging.stderr).toContain('purging [');

    /** The replayed jobs die again. */
    async function deadJobsAgain() {
      const dispatcher = createDispatcher({ store: sqliteStore({ path: temp.path }), onError: () => undefined, concurrency: 50 });
      dispatcher.register(doomed);
      await dispatcher.start();
      await until(async () => (await dispatcher.counts()).dlq === 250, 'the replayed jobs back in the DLQ', 20_000);
      await dispatcher.stop();
    }
  });

  it('pauses and resumes queues, and lists them with their jobs', async () => {
    await cli(['enqueue', 'greet', '{"who":"a"}', ...store, '--jobs', JOBS, '--queue', 'mail']);
    expect((await cli(['queues', 'pause', 'mail', ...store])).stdout).toBe('queue mail paused\n');
    const paused = await cliJson<Array<{ name: string; paused: boolean; counts: Record<string, number> }>>(['queues', 'ls', ...store]);
    expect(paused).toEqual([expect.objectContaining({ name: 'mail', paused: true, counts: expect.objectContaining({ pending: 1 }) })]);
    expect((await cli(['queues', 'ls', ...store])).stdout).toMatch(/^mail\s+yes\s+/m);
    expect(await cliJson(['queues', 'resume', 'mail', ...store])).toMatchObject({ name: 'mail', paused: false });
    expect((await cli(['queues', 'pause', '', ...store])).stderr).toMatch(/name: must not be empty/);
  });

  it('lists schedules and removes one; removing one that is not there exits 1', async () => {
    const dispatcher = createDispatcher({ store: sqliteStore({ path: temp.path }) });
    dispatcher.register(doomed);
    await dispatcher.schedule('nightly', '0 3 * * *', doomed, { n: 1 }, { tz: 'Europe/Berlin' });
    await dispatcher.stop();
    const listed = await cliJson<Array<{ name: string; cron: string; tz: string; job: string; nextRunAt: string }>>(['schedules', 'ls', ...store]);
    expect(listed).toEqual([expect.objectContaining({ name: 'nightly', cron: '0 3 * * *', tz: 'Europe/Berlin', job: 'doomed' })]);
    expect(Date.parse(listed[0]!.nextRunAt)).toBeGreaterThan(Date.now());
    expect((await cli(['schedules', 'ls', ...store])).stdout).toMatch(/^nightly\s+0 3 \* \* \*\s+Europe\/Berlin\s+doomed/m);
    expect(await cli(['schedules', 'rm', 'nightly', ...store])).toEqual({ code: 0, stdout: 'removed schedule nightly\n', stderr: '' });
    expect(await cli(['schedules', 'rm', 'nightly', ...store])).toEqual({ code: 1, stdout: '', stderr: 'dispatch: no schedule named "nightly"\n' });
    expect((await cli(['schedules', 'ls', ...store])).stderr).toBe('no schedules\n');
  });
});
