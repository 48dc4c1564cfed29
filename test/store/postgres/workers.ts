import type { ChildProcess } from 'node:child_process';
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
