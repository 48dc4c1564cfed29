import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { forkReady } from '../../support/child-process.js';
import type { WorkerSettings } from './worker.js';

export interface Worker {
  child: ChildProcess;
  log: string;
  /** What the process printed, for the failure message. */
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const script = fileURLToPath(new URL('./worker.ts', import.meta.url));

/** Starts worker.ts as a real child process (TypeScript through tsx) and resolves once its dispatcher runs. */
export async function startWorker(url: string, schema: string, log: string, settings: WorkerSettings): Promise<Worker> {
  const started = await forkReady(script, [url, schema, log, JSON.stringify(settings)]);
  return { ...started, log };
}

/** Asks a worker to stop (it drains) and waits for it to exit. */
export async function stopWorker(worker: Worker): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  worker.child.send('stop');
  const { code, signal } = await worker.exited;
  if (code !== 0) throw new Error(`worker exited with ${code ?? signal}:\n${worker.output()}`);
}

/** The job ids a worker logged, one per handler run. */
export function loggedIds(log: string): string[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8').split('\n').filter(Boolean);
}

/** Waits for `test` to hold, looking every `everyMs`; fails after `timeoutMs` naming what it waited for. */
export async function until(test: () => boolean | Promise<boolean>, what: string, timeoutMs = 45_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
