import type { HandlerContext, JobInfo } from '../job/define-job.js';
import type { MiddlewareContext } from './middleware.js';
import type { StoredJob } from '../store/contract.js';
import type { ProgressReporter } from './progress.js';

/**
 * What a handler receives as `ctx`. The AbortSignal and the job info are
 * made on first use: most handlers never touch them, and an AbortController
 * per job is a measurable share of the engine's cost.
 */
export class LazyHandlerContext implements HandlerContext, MiddlewareContext {
  private controller: AbortController | null = null;
  private abortReason: unknown = undefined;
  private aborted = false;
  private info: JobInfo | null = null;

  constructor(
    private readonly stored: StoredJob,
    /** The parsed input, for middleware. */
    readonly input: unknown = stored.input,
    private readonly reporter: ProgressReporter | null = null,
    /** Names this attempt to the reporter. */
    private readonly token: unknown = null,
  ) {}

  progress(value: unknown): Promise<void> {
    return this.reporter ? this.reporter.report(this.token, value) : Promise.resolve();
  }

  get attempt(): number {
    return this.stored.attempt;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  get job(): JobInfo {
    const job = this.stored;
    this.info ??= {
      id: job.id,
      name: job.name,
      queue: job.queue,
      priority: job.priority,
      attempt: job.attempt,
      maxRetries: job.maxRetries,
      runAt: new Date(job.runAt),
      createdAt: new Date(job.createdAt),
    };
    return this.info;
  }

  /** Aborts the signal, now or when the handler first asks for it. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }
}
