import { context, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import type { Decision } from '../kernel/kernel.js';
import type { LeasedJob } from '../store/contract.js';
import { attemptFailed } from './outcome.js';
import { linkTo } from './trace-context.js';

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
  constructor(private readonly tracer: Tracer) {}

  /** Starts an attempt's span; null when nothing records it (no SDK), so the attempt costs nothing more. */
  start(job: LeasedJob): AttemptSpan | null {
    const link = job.traceContext ? linkTo(job.traceContext) : null;
    const span = this.tracer.startSpan(
      `dispatch.job ${job.name}`,
      {
        kind: SpanKind.CONSUMER,
        root: true,
        ...(link ? { links: [link] } : {}),
        attributes: { 'dispatch.job.id': job.id, 'dispatch.job.name': job.name, 'dispatch.queue': job.queue, 'dispatch.job.attempt': job.attempt },
      },
      ROOT_CONTEXT,
    );
    // A sampled-out span still has a valid context, which its children must inherit; a no-op one has none.
    if (!span.isRecording() && !trace.isSpanContextValid(span.spanContext())) return null;
    return { span, context: trace.setSpan(ROOT_CONTEXT, span) };
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
