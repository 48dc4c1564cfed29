import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDatabase } from '../store/sqlite/temp-file.js';
import { until } from '../support/until.js';

const project = resolve(import.meta.dirname, '../..');

describe('npm run demo', () => {
  const temp = tempDatabase('dispatch-demo-');
  afterEach(() => temp.remove());

  it('runs its scene, serves the dashboard while jobs keep flowing, and stops cleanly when its time is up', async () => {
    // DEMO_SECONDS bounds it, as Ctrl-C would end it.
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/demo.ts'], {
      cwd: project,
      env: { ...process.env, DISPATCH_DB: temp.path, DEMO_PORT: '0', DEMO_SECONDS: '5' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));

    await until(() => /Dashboard: (\S+)/.test(output) || child.exitCode !== null, 'the dashboard address', 60_000);
    const url = output.match(/Dashboard: (\S+)/)?.[1];
    expect(url, output).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const stats = (await (await fetch(new URL('api/stats', url))).json()) as { counts: Record<string, number> };
    expect(stats.counts.completed).toBeGreaterThan(0);
    expect(stats.counts.dlq).toBeGreaterThan(0);
    expect(((await (await fetch(new URL('api/schedules', url))).json()) as { schedules: unknown[] }).schedules).toEqual([expect.objectContaining({ name: 'digest' })]);
    expect((await fetch(url!)).status).toBe(200);

    expect(await exited, output).toBe(0);
    expect(output).toContain('The webhook endpoint is fixed');
    expect(output).toContain('Stopped.');
  }, 90_000);
});
