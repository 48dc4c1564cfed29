import { type Clock, systemClock, unref } from '../clock.js';
import type { Store } from '../store/contract.js';
import { Paced } from './paced.js';

/** A background duty of the engine (the reaper; retention and cron schedules next). */
export interface MaintenanceService {
  /** Its duty's name: among the processes sharing a store, one at a time runs it. */
  readonly name: string;
  /** How often it runs. */
  readonly everyMs: number;
  /** One pass; answers how many jobs it moved or removed. */
  run(): Promise<number>;
  /**
   * When given, the service paces itself (see paced.ts): a first pass at
   * start, and each next one this long after the last ended (`ran`: whether
   * this process held the duty and the pass succeeded), instead of every `everyMs`.
   */
  nextPassMs?(ran: boolean): number;
}

/**
 * Runs each service on its beat, each pass under the service's leader duty
 * (`store.withDuty`), and lets tests run a pass at will and wait for it.
 */
export class Maintenance {
  private readonly services = new Map<string, MaintenanceService>();
  private beats: Array<Every | Paced> = [];
  private readonly paced = new Map<string, Paced>();
  private passes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly onError: (error: unknown, context: string) => void,
    private readonly clock: Clock = systemClock,
  ) {}

  add(service: MaintenanceService): this {
    this.services.set(service.name, service);
    return this;
  }

  start(): void {
    for (const service of this.services.values()) {
      const pass = () => this.runOnce(service.name).catch((error) => this.onError(error, `running ${service.name}`));
      if (service.nextPassMs) {
        const paced = new Paced(pass, (done) => service.nextPassMs!(typeof done === 'number'), this.clock);
        this.paced.set(service.name, paced);
        this.beats.push(paced);
        continue;
      }
      this.beats.push(new Every(service.everyMs, pass, this.clock));
    }
  }

  /**
   * One pass of a service, now, under its duty. Answers what the pass did,
   * or null when another process holds the duty (it is doing the work).
   */
  runOnce(name: string): Promise<number | null> {
    const service = this.services.get(name);
    if (!service) return Promise.reject(new Error(`no maintenance service is called ${name}`));
    // One pass at a time per dispatcher: a pass holds its duty's connection and works on another, so
    // passes side by side could take a pool of the store's minimum size and wait on each other.
    const pass = this.passes.then(() => this.pass(service));
    this.passes = pass.catch(() => undefined);
    return pass;
  }

  private async pass(service: MaintenanceService): Promise<number | null> {
    const { name } = service;
    let done = 0;
    const ran = await this.store.withDuty(name, async () => {
      done = await service.run();
    });
    return ran ? done : null;
  }

  /** Runs a paced service's next pass now (something changed its work), if it is running. */
  wake(name: string): void {
    this.paced.get(name)?.poke();
  }

  /** Stops every beat and waits for a pass in progress, so nothing touches a closed store. */
  async stop(): Promise<void> {
    const beats = this.beats;
    this.beats = [];
    this.paced.clear();
    await Promise.all(beats.map((beat) => beat.stop()));
  }
}

/** Runs `run` every `ms` on `clock`, skipping a beat while the last run is still going. */
export class Every {
  private timer: unknown = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;

  constructor(
    private readonly ms: number,
    private readonly run: () => Promise<unknown>,
    private readonly clock: Clock = systemClock,
  ) {
    this.beat();
  }

  private beat(): void {
    this.timer = this.clock.setTimeout(() => {
      if (this.stopped) return;
      this.running ??= this.run().finally(() => (this.running = null));
      this.beat();
    }, this.ms);
    unref(this.timer);
  }

  /** Stops the beat and waits for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
    await this.running;
  }
}
