import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Duration } from '../../../src/index.js';
import { forkReady } from '../../support/child-process.js';
import type { WorkerCommand, WorkerSettings } from './worker.js';

export interface Worker {
  child: ChildProcess;
  settings: WorkerSettings;
  /** What the process printed, for failure messages. */
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Set once the worker is told to go (stopped or killed): an exit before that is a crash. */
  told: boolean;
}

const script = fileURLToPath(new URL('./worker.ts', import.meta.url));

/** Starts worker.ts as a real child process (TypeScript through tsx) and resolves once its dispatcher runs. */
export async function startWorker(settings: WorkerSettings): Promise<Worker> {
  const started = await forkReady(script, [JSON.stringify(settings)]);
  return { ...started, settings, told: false };
}

const alive = (worker: Worker) => worker.child.exitCode === null && worker.child.signalCode === null;

/** Asks a worker to stop (it drains within `grace`) and waits for it to exit 0. */
export async function stopWorker(worker: Worker, grace: Duration = '10s'): Promise<void> {
  if (!alive(worker)) return;
  worker.told = true;
  worker.child.send({ type: 'stop', grace } satisfies WorkerCommand);
  const { code, signal } = await worker.exited;
  if (code !== 0) throw new Error(`worker exited with ${code ?? signal}:\n${worker.output()}`);
}

/** Has a worker begin stop() and exit `afterMs` later, in the middle of it. */
export async function exitDuringStop(worker: Worker, grace: Duration, afterMs: number): Promise<void> {
  worker.told = true;
  worker.child.send({ type: 'exit-during-stop', grace, afterMs } satisfies WorkerCommand);
  await worker.exited;
}

export async function killWorker(worker: Worker): Promise<void> {
  worker.told = true;
  if (alive(worker)) worker.child.kill('SIGKILL');
  await worker.exited;
}

/** Kills whatever is still running: for afterEach. */
export async function killAll(workers: Worker[]): Promise<void> {
  await Promise.all(workers.map(killWorker));
  workers.length = 0;
}
