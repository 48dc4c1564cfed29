import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { tempDatabase } from '../store/sqlite/temp-file.js';
import { until } from '../support/until.js';
import { cli, JOBS } from './run-cli.js';

describe('dispatch dashboard', () => {
  let temp: ReturnType<typeof tempDatabase>;
  let store: string;
  beforeEach(() => {
    temp = tempDatabase('dispatch-cli-dashboard-');
    store = `sqlite:${temp.path}`;
  });
  afterEach(() => temp.remove());

  it('serves the API over the store, with the token, until SIGTERM, then exits 0', async () => {
    const id = (await cli(['enqueue', 'slow', '{"ms":1}', '--store', store, '--jobs', JOBS])).stdout.trim();
    const signals = new EventEmitter();
    const out = { stdout: '', stderr: '' };
    const exited = run(['dashboard', '--store', store, '--port', '0'], {
      stdout: { write: (text: string) => (out.stdout += text) },
      stderr: { write: (text: string) => (out.stderr += text) },
      env: { DISPATCH_TOKEN: 'a-long-secret' },
      signals,
    });
    await until(() => out.stdout.includes('dashboard: http'), 'the dashboard to listen', 30_000);
    const url = /dashboard: (\S+)/.exec(out.stdout)![1]!;
    expect((await fetch(new URL(`api/jobs/${id}`, url))).status).toBe(401);
    const answer = await fetch(new URL(`api/jobs/${id}`, url), { headers: { authorization: 'Bearer a-long-secret' } });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ id, name: 'slow', state: 'pending' });
    expect((await fetch(url)).headers.get('content-type')).toMatch(/^text\/html/);
    signals.emit('SIGTERM');
    expect(await exited).toBe(0);
    await expect(fetch(url)).rejects.toThrow();
  });

  it('refuses a port that is not a number, naming it, with exit code 2', async () => {
    const out = { stdout: '', stderr: '' };
    const code = await run(['dashboard', '--store', store, '--port', 'eighty'], {
      stdout: { write: (text: string) => (out.stdout += text) },
      stderr: { write: (text: string) => (out.stderr += text) },
      env: {},
    });
    expect(code).toBe(2);
    expect(out.stderr).toContain('--port');
  });
});
