import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDatabase } from '../store/sqlite/temp-file.js';
import { until } from '../support/until.js';
import { cli, JOBS } from './run-cli.js';

const BIN = resolve(import.meta.dirname, '../../src/cli/bin.ts');

describe('dispatch worker, as a process', () => {
  const temp = tempDatabase('dispatch-cli-worker-');
  afterEach(() => temp.remove());

  it('runs what another invocation enqueues, and on SIGTERM lets the running job finish and exits 0', async () => {
    const store = `sqlite:${temp.path}`;
    const worker = spawn(process.execPath, ['--import', 'tsx', BIN, 'worker', '--store', store, '--jobs', JOBS, '--grace', '20s'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    worker.stdout.on('data', (chunk) => (stdout += chunk));
    worker.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => worker.on('exit', (code, signal) => done({ code, signal })));
    const seen = (test: () => boolean, what: string) =>
      until(test, what, 30_000).catch((error: Error) => {
        throw new Error(`${error.message}; the worker printed:\n${stdout}${stderr}`);
      });
    try {
      await seen(() => stderr.includes('worker started'), 'the worker to start');
      const greet = (await cli(['enqueue', 'greet', '{"who":"ada"}', '--store', store, '--jobs', JOBS])).stdout.trim();
      await seen(() => stdout.includes(`greet ${greet}  completed`), 'greet to complete');
      const slow = (await cli(['enqueue', 'slow', '{"ms":1500}', '--store', store, '--jobs', JOBS])).stdout.trim();
      await seen(() => stdout.includes(`slow ${slow}  start`), 'slow to start');
      worker.kill('SIGTERM');
      expect(await exited).toEqual({ code: 0, signal: null });
      expect(stderr).toContain('SIGTERM: draining 1 running job');
      expect(stdout).toContain(`slow ${slow}  completed`);
      expect(stderr).toContain('worker stopped');
      const job = JSON.parse((await cli(['job', slow, '--store', store, '--json'])).stdout) as { state: string; result: unknown };
      expect(job).toMatchObject({ state: 'completed', result: { slept: 1500 } });
    } finally {
      worker.kill('SIGKILL');
    }
  }, 60_000);
});
