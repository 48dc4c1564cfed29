import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { tempDatabase } from '../store/sqlite/temp-file.js';
import { until } from '../support/until.js';
import { cli, JOBS } from './run-cli.js';

describe('dispatch worker, in-process with signals of the test', () => {
  let temp: ReturnType<typeof tempDatabase>;
  let store: string;
  beforeEach(() => {
    temp = tempDatabase('dispatch-cli-worker-');
    store = `sqlite:${temp.path}`;
  });
  afterEach(() => temp.remove());

  /** Starts a worker whose stderr is a terminal; resolves once it says it started. */
  async function worker(args: string[]) {
    const signals = new EventEmitter();
    const out = { stdout: '', stderr: '' };
    const exited = run(['worker', '--store', store, '--jobs', JOBS, ...args], {
      stdout: { write: (text: string) => (out.stdout += text) },
      stderr: { write: (text: string) => (out.stderr += text), isTTY: true },
      env: {},
      signals,
    });
    await until(() => out.stderr.includes('worker started'), 'the worker to start', 30_000);
    return { signals, out, exited };
  }

  it('drains on SIGINT with a progress bar on a terminal, letting the running job finish, and exits 0', async () => {
    const { signals, out, exited } = await worker([]);
    const id = (await cli(['enqueue', 'slow', '{"ms":500}', '--store', store, '--jobs', JOBS])).stdout.trim();
    await until(() => out.stdout.includes(`slow ${id}  start    attempt 1`), 'the job to start', 20_000);
    signals.emit('SIGINT');
    expect(await exited).toBe(0);
    expect(out.stdout).toMatch(new RegExp(`^\\S+Z  slow ${id}  completed$`, 'm'));
    expect(out.stderr).toContain('SIGINT: draining 1 running job (grace 30s)');
    expect(out.stderr).toContain('draining [');
    expect(out.stderr).toMatch(/worker stopped\n$/);
    expect(signals.listenerCount('SIGTERM') + signals.listenerCount('SIGINT')).toBe(0);
  });

  it('with --json prints each start and stop as a line of JSON and draws no bar; exits 1 when the grace runs out', async () => {
    const { signals, out, exited } = await worker(['--grace', '200ms', '--json']);
    const id = (await cli(['enqueue', 'slow', '{"ms":3000}', '--store', store, '--jobs', JOBS])).stdout.trim();
    const lines = () => out.stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as { jobId: string; to: string });
    await until(() => lines().some((e) => e.jobId === id && e.to === 'running'), 'the job to start', 20_000);
    signals.emit('SIGTERM');
    expect(await exited).toBe(1);
    expect(lines()).toEqual([
      expect.objectContaining({ jobId: id, name: 'slow', from: 'pending', to: 'running', event: 'LEASE', attempt: 1 }),
      expect.objectContaining({ jobId: id, name: 'slow', from: 'running', to: 'pending', event: 'ABANDON' }),
    ]);
    expect(out.stderr).toContain('SIGTERM: draining 1 running job (grace 200ms)');
    expect(out.stderr).not.toContain('draining [');
    expect(out.stderr).toContain('1 job did not finish within the grace and went back to the queue');
    expect(JSON.parse((await cli(['job', id, '--store', store, '--json'])).stdout)).toMatchObject({ state: 'pending', attempt: 0 });
  });
});
