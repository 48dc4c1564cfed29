import { type Actor, createActor, type InspectionEvent, type Observer } from 'xstate';
import type { JobContext, JobEvent, JobMachine, JobState } from '../../machines/job.machine.js';

/** What `createActor` takes as `inspect`: an observer of inspection events, or a function of one. */
export type Inspect = Observer<InspectionEvent> | ((event: InspectionEvent) => void);

/** Delays come from the kernel's timers, which send their events here too: the actor's own clock never fires. */
const KERNEL_CLOCK = { setTimeout: () => 0, clearTimeout: () => {} };

/**
 * Live actors for the jobs a process holds, so an inspector (such as the
 * Stately inspector) sees each job move through the chart. Each actor is
 * given every event the kernel decides for its job, in order, and so takes
 * the same steps; it runs no side effects (the runner does), and its delays
 * are the kernel's. Made only when the dispatcher is given `inspect`.
 */
export class ActorMirror {
  private readonly machine: JobMachine;

  constructor(
    machine: JobMachine,
    private readonly inspect: Inspect,
    private readonly error: (error: unknown, context: string) => void,
  ) {
    this.machine = machine.provide({ actions: { runHandler: () => {}, abortHandler: () => {}, storeResult: () => {} } });
  }

  /** An actor for job `id`, resting where the job rests. */
  open(id: string, state: JobState, context: JobContext): Actor<JobMachine> {
    const snapshot = this.machine.resolveState({ value: state, context });
    const actor = createActor(this.machine, { snapshot, input: context, inspect: this.inspect, clock: KERNEL_CLOCK, id: `job:${id}` });
    actor.start();
    return actor;
  }

  /** Sends the actor the event the kernel decided on; says so if the two part ways. */
  send(actor: Actor<JobMachine>, event: JobEvent | { type: string }, expected: JobState): void {
    actor.send(event as JobEvent);
    const value = actor.getSnapshot().value;
    if (value !== expected) {
      this.error(new Error(`the inspected actor of ${actor.id} is in ${String(value)}, the kernel says ${expected}`), 'mirroring a job');
    }
  }
}
