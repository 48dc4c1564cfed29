import { type Attributes, context, INVALID_SPAN_CONTEXT, ROOT_CONTEXT, type Span, SpanKind, type SpanOptions, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import type { Decision } from '../kernel/kernel.js';
import type { LeasedJob } from '../store/contract.js';
import { attemptFailed } from './outcome.js';
import { linkTo } from './trace-context.js';

const UNLINKED: SpanOptions = Object.freeze({ kind: SpanKind.CONSUMER, root: true });

function attributesOf(job: LeasedJob): Attributes {
  return { 'dispatch.job.id': job.id, 'dispatch.job.name': job.name, 'dispatch.queue': job.queue, 'dispatch.job.attempt': job.attempt };
}

/** The span of one attempt, and the context its handler runs in (the span active). */
export interface AttemptSpan {
  span: Span;
  context: ReturnType<typeof context.active>;
}

/**
 * One span per attempt, `dispatch.job <name>`, from the handler's start to
 * the step that ends the attempt (success, failure, timeout, cancel,
 * shutdown, a lost lease). Each is the root of its own trace, linked to the
 * span that enqueued the job: an attempt may run hours after the enqueue, or
 * be the fifth of five, and belongs in no request's trace. Middleware and the
 * handler run with it active, so their spans are its children.
 */
export class AttemptSpans {
  private readonly names = new Map<string, string>();

  constructor(private readonly tracer: Tracer) {}

  /** Starts an attempt's span; null when nothing records it (no SDK), so the attempt costs nothing more. */
  start(job: LeasedJob): AttemptSpan | null {
    const link = job.traceContext ? linkTo(job.traceContext) : null;
    // A job enqueued in no span (every job, without an SDK) asks with options made once: a no-op span costs no allocation but its own.
    const options: SpanOptions = link ? { ...UNLINKED, links: [link], attributes: attributesOf(job) } : UNLINKED;
    const span = this.tracer.startSpan(this.nameOf(job.name), options, ROOT_CONTEXT);
    // A sampled-out span still has a valid context, which its children must inherit; a no-op one has none
    // (without an SDK, the API's own invalid context: known by identity, without checking its ids' hex every job).
    if (!span.isRecording()) {
      const spanContext = span.spanContext();
      return spanContext !== INVALID_SPAN_CONTEXT && trace.isSpanContextValid(spanContext) ? { span, context: trace.setSpan(ROOT_CONTEXT, span) } : null;
    }
    if (!link) span.setAttributes(attributesOf(job));
    return { span, context: trace.setSpan(ROOT_CONTEXT, span) };
  }

  private nameOf(name: string): string {
    let spanName = this.names.get(name);
    if (spanName === undefined) this.names.set(name, (spanName = `dispatch.job ${name}`));
    return spanName;
  }

  /**
   * Ends an attempt's span where the chart took the job (`dispatch.job.outcome`:
   * the state it went to), with an error status and the error recorded when the
   * attempt failed; `null`: this process lost the job's lease.
   */
  end(attempt: AttemptSpan, step: Decision | null): void {
    const { span } = attempt;
    if (!step) {
      span.setAttribute('dispatch.job.outcome', 'lost');
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'the lease on the job was lost' });
    } else {
      span.setAttribute('dispatch.job.outcome', step.to);
      const error = step.context.lastError;
      if (attemptFailed(step) && error) {
        span.recordException({ name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) });
        span.setStatus({ code: SpanStatusCode.ERROR, message: `${error.name}: ${error.message}` });
      }
    }
    span.end();
  }
}
