import { context, type Link, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';

/**
 * The active span's context, as the registered propagator writes it (W3C
 * `traceparent` and `tracestate` with the OpenTelemetry SDK's default), in
 * JSON: what a job keeps to link its attempts to the span that enqueued it.
 * Null when no span is active (always, without an OpenTelemetry SDK) or no
 * propagator is registered.
 */
export function captureTraceContext(): string | null {
  const active = context.active();
  if (!trace.getSpanContext(active)) return null;
  const carrier: Record<string, string> = {};
  propagation.inject(active, carrier);
  for (const _ in carrier) return JSON.stringify(carrier);
  return null;
}

/** A link to the span a stored trace context names; null when it names none the propagator can read. */
export function linkTo(stored: string): Link | null {
  let carrier: unknown;
  try {
    carrier = JSON.parse(stored);
  } catch {
    return null; // Written by the engine, so this is a row edited by hand: no link rather than no attempt.
  }
  if (typeof carrier !== 'object' || carrier === null) return null;
  const spanContext = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, carrier));
  return spanContext && trace.isSpanContextValid(spanContext) ? { context: spanContext } : null;
}
