import type { JobEvent } from '../../machines/job.machine.js';
import { type JobRecord, type RecordOf, toRecord } from '../engine/records.js';
import type { WriteBuffer } from '../engine/write-buffer.js';
import { InvalidOptionError, InvalidTransitionError, JobNotFoundError } from '../errors.js';
import type { AnyJobDefinition, InputOf } from '../job/define-job.js';
import { type EnqueueOptions, fields, parseEnqueueOptions, parseOrThrow, type ResolvedOptions } from '../job/options.js';
import type { Registry } from '../job/registry.js';
import { contextOf, writeFor } from '../kernel/chart.js';
import type { Decision, JobKernel } from '../kernel/kernel.js';
import { inQueue, type NewJob, type StateCounts, type Store, type StoredJob } from '../store/contract.js';
import { optionKeys, refuseUnknownKeys } from '../strict-options.js';
import { checkId, countJobs, jobHistory, type Jobs, listJobs, listPage, type ReplayAllOptions, replayAll, reschedule, type RescheduleOptions } from './jobs.js';
import { newJob } from './new-job.js';
import { duplicateRecord, KEY_IN_BULK } from './unique.js';

const REPLAY: JobEvent = Object.freeze({ type: 'REPLAY' });
import { waitFor, type WaitForOptions } from './wait-for.js';
import { captureTraceContext } from '../observability/trace-context.js';
import type { Clock } from '../clock.js';

export interface DlqPage {
  jobs: JobRecord[];
  nextCursor: string | null;
}

export interface DlqListOptions {
  limit?: number;
  cursor?: string | null;
}

export interface DlqPurgeOptions {
  before: Date;
  /** Called after each bounded batch with how many this call has deleted so far. */
  onProgress?: (purged: number) => void;
}

export interface Dlq {
  list(options?: DlqListOptions): Promise<DlqPage>;
  replay(id: string): Promise<JobRecord>;
  /** Replays every dead-lettered job (of a name, of a queue) in bounded batches; answers how many this call replayed. */
  replayAll(options?: ReplayAllOptions): Promise<number>;
  purge(options: DlqPurgeOptions): Promise<number>;
}

const dlqListKeys = optionKeys<DlqListOptions>({ limit: true, cursor: true });
const dlqPurgeKeys = optionKeys<DlqPurgeOptions>({ before: true, onProgress: true });
/** Jobs deleted a batch: each batch is a short statement using an index, as retention's are. */
const PURGE_BATCH = 1000;

export interface ClientParts {
  store: Store;
  registry: Registry;
  kernel: JobKernel;
  writes: WriteBuffer;
  defaults: Required<ResolvedOptions>;
  maxPayloadBytes: number;
  /** Opens the store if need be; rejects once the dispatcher stops. */
  ready(): Promise<void>;
  /** Tells this process's worker a job is due at `runAt`. */
  wake(runAt: number): void;
  /** Sends an event to a job this process's worker holds; null when it holds none such. */
  sendHeld(id: string, event: JobEvent, token?: string | null): Promise<void> | null;
  /** A stored step, for `events$`. */
  emit(job: StoredJob, step: Decision): void;
  /** Jobs just stored by an enqueue (duplicates of a unique key marked), for metrics. */
  enqueued(jobs: readonly StoredJob[]): void;
  /** Aborted when the dispatcher stops, ending waits. */
  stopped: AbortSignal;
  clock: Clock;
  /** Whether steps are kept in job histories. */
  history: boolean;
}

/**
 * What any process can do with jobs, worker or not: enqueue, read, wait,
 * cancel, and the DLQ. Every move it makes is the chart's, decided by the
 * kernel and written with a compare-and-set.
 */
export class JobClient {
  readonly dlq: Dlq;
  readonly jobs: Jobs;

  constructor(private readonly parts: ClientParts) {
    this.dlq = {
      list: (o) => this.listDlq(o),
      replay: (id) => this.replay(id),
      replayAll: (o) => replayAll(parts, (job) => this.move(job, REPLAY), o),
      purge: (o) => this.purgeDlq(o),
    };
    this.jobs = {
      list: (o) => listJobs(parts, o),
      counts: (o) => countJobs(parts, o),
      history: (id) => jobHistory(parts, id),
    };
  }

  reschedule(id: string, options: RescheduleOptions): Promise<JobRecord> {
    return reschedule(this.parts, id, options);
  }

  async enqueue(job: AnyJobDefinition | string, input: unknown, options?: EnqueueOptions): Promise<JobRecord> {
    const def = this.parts.registry.resolve(job);
    const parsed = parseEnqueueOptions(options);
    const [stored] = await this.insert([this.newJob(def, input, parsed, this.parts.clock.now(), captureTraceContext())], parsed.client);
    return stored!.duplicate ? duplicateRecord(stored!, this.parts) : toRecord(stored!);
  }

  async enqueueMany<D extends AnyJobDefinition>(job: D | string, inputs: ReadonlyArray<InputOf<D>>, options?: EnqueueOptions): Promise<Array<RecordOf<D>>> {
    const def = this.parts.registry.resolve(job);
    if (!Array.isArray(inputs)) throw new InvalidOptionError('inputs', 'must be an array');
    const parsed = parseEnqueueOptions(options);
    if (parsed.unique) throw new InvalidOptionError('options.key', KEY_IN_BULK);
    const now = this.parts.clock.now();
    const trace = captureTraceContext();
    const jobs = inputs.map((input, i) => this.newJob(def, input, parsed, now, trace, `inputs[${i}]`));
    if (jobs.length === 0) return [];
    const stored = await this.insert(jobs, parsed.client);
    return stored.map((s) => toRecord(s) as RecordOf<D>);
  }

  async getJob(id: string): Promise<JobRecord | null> {
    checkId(id);
    await this.parts.ready();
    const job = await this.parts.store.get(id);
    return job ? toRecord(job) : null;
  }

  waitFor<I = unknown, O = unknown>(job: string | JobRecord<I, O>, options?: WaitForOptions): Promise<JobRecord<I, O>> {
    const { store, ready, stopped, clock } = this.parts;
    return waitFor<I, O>({ store, ready, stopped, clock }, job, options);
  }

  async cancel(id: string): Promise<JobRecord> {
    checkId(id);
    await this.parts.ready();
    for (;;) {
      const local = this.parts.sendHeld(id, { type: 'CANCEL' });
      if (local) {
        await local;
        continue;
      }
      const job = await this.parts.store.get(id);
      if (!job) throw new JobNotFoundError(id);
      const moved = await this.move(job, { type: 'CANCEL' });
      if (moved === null) return toRecord(job);
      if (moved) return toRecord(moved);
      // Lost the compare-and-set: the job moved on; look again.
    }
  }

  async counts(): Promise<StateCounts> {
    await this.parts.ready();
    return this.parts.store.counts();
  }

  /**
   * Moves a job this process does not hold, as the chart decides, and answers
   * the job as written. Null when the chart refuses the event; false when the
   * compare-and-set lost. `worker`: the worker taking the step (the reaper's),
   * for the job's history; null for a client's.
   */
  async move(job: StoredJob, event: JobEvent, worker: string | null = null): Promise<StoredJob | false | null> {
    const now = this.parts.clock.now();
    const step = this.parts.kernel.decide(job.state, contextOf(job, this.parts.registry.deadLetter(job.name)), event);
    if (!step) return null;
    const write = writeFor(job.id, step, job.leaseToken, now, this.parts.history ? { worker } : null);
    const applied = await this.parts.writes.writeAsync(write);
    if (!applied) return false;
    this.parts.emit(job, step);
    // Back in the queue: this process's worker may want to look.
    if (inQueue(write.to)) this.parts.wake(write.runAt ?? job.runAt);
    return {
      ...job,
      state: write.to,
      attempt: write.attempt ?? job.attempt,
      runAt: write.runAt ?? job.runAt,
      lastError: write.lastError === undefined ? job.lastError : write.lastError,
      leaseToken: null,
      leaseExpiresAt: null,
      updatedAt: now,
    };
  }

  /** A job to store; `trace`: the enqueuing span's context, captured before the first await, where it is still active. */
  private newJob(def: AnyJobDefinition, input: unknown, options: ReturnType<typeof parseEnqueueOptions>, now: number, trace: string | null, field?: string): NewJob {
    const job = newJob(def, input, options, this.parts.defaults, this.parts.maxPayloadBytes, now, field);
    if (trace) job.traceContext = trace;
    return job;
  }

  private async insert(jobs: NewJob[], client: unknown): Promise<StoredJob[]> {
    await this.parts.ready();
    const stored = await this.parts.store.insert(jobs, client === undefined ? undefined : { client });
    this.parts.enqueued(stored);
    // A store that tells its subscribers of its own inserts has woken this worker already.
    if (!this.parts.store.subscribeTellsOwnInserts) {
      let earliest = Infinity;
      for (const job of jobs) if (job.runAt < earliest) earliest = job.runAt;
      this.parts.wake(earliest);
    }
    return stored;
  }

  private async listDlq(options: DlqListOptions = {}): Promise<DlqPage> {
    refuseUnknownKeys(options, dlqListKeys, 'options', 'dlq.list');
    return listPage(this.parts, 'dlq', options);
  }

  private async replay(id: string): Promise<JobRecord> {
    checkId(id);
    await this.parts.ready();
    const job = await this.parts.store.get(id);
    if (!job) throw new JobNotFoundError(id);
    const moved = await this.move(job, { type: 'REPLAY' });
    if (moved === null) throw new InvalidTransitionError(id, job.state, 'REPLAY');
    if (!moved) throw new InvalidTransitionError(id, (await this.parts.store.get(id))?.state ?? 'gone', 'REPLAY');
    return toRecord(moved);
  }

  private async purgeDlq(options: DlqPurgeOptions): Promise<number> {
    refuseUnknownKeys(options, dlqPurgeKeys, 'options', 'dlq.purge');
    const before = parseOrThrow(fields.runAt, options?.before, 'before');
    const { onProgress } = options;
    if (onProgress !== undefined && typeof onProgress !== 'function') throw new InvalidOptionError('onProgress', 'must be a function (purged) => ...');
    await this.parts.ready();
    let purged = 0;
    let cursor: string | null = null;
    do {
      const batch = await this.parts.store.expire({ state: 'dlq', before: before.getTime(), limit: PURGE_BATCH, cursor });
      purged += batch.deleted;
      onProgress?.(purged);
      cursor = batch.cursor;
    } while (cursor !== null);
    return purged;
  }
}
