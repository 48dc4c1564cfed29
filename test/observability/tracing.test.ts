import { context, propagation, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { StackContextManager } from '@opentelemetry/sdk-trace';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { backoff, createDispatcher, defineJob, type Dispatcher } from '../../src/index.js';
import { storeTargets } from '../support/store-targets.js';

/**
 * Without an async context manager installed (the async-hooks one is not a
 * dependency), a stack one keeps a span active through synchronous code:
 * enough here, as enqueue captures the context before its first await and
 * the attempt's span is active while the handler starts.
 */
beforeAll(() => {
  context.setGlobalContextManager(new StackContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(() => {
  context.disable();
  propagation.disable();
});

function tracing() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { exporter, provider, tracer: provider.getTracer('app') };
}

const attemptsOf = (spans: ReadableSpan[], name: string) =>
  spans.filter((s) => s.name === `dispatch.job ${name}`).sort((a, b) => Number(a.attributes['dispatch.job.attempt']) - Number(b.attributes['dispatch.job.attempt']));

const targets = storeTargets('tracing');

describe.each(['memory', 'sqlite', 'postgres'] as const)('attempt spans on the %s store', (kind) => {
  it('gives each attempt a span linked to the span that enqueued the job, with its children inside and its failure recorded', async () => {
    const { exporter, provider, tracer } = tracing();
    const app = tracer;
    const flaky = defineJob({
      name: 'flaky',
      input: z.object({}),
      maxRetries: 2,
      backoff: backoff.constant(1),
      handler: async (_, ctx) => {
        app.startSpan('inside the handler').end();
        if (ctx.attempt === 1) throw new Error('first attempt fails');
      },
    });
    const target = targets[kind]();
    const dispatcher: Dispatcher = createDispatcher({ store: target.open(), tracerProvider: provider }).register(flaky);
    try {
      await dispatcher.start();
      let enqueuing!: ReadableSpan;
      const job = await tracer.startActiveSpan('POST /signup', (span) => {
        const enqueued = dispatcher.enqueue(flaky, {});
        span.end();
        enqueuing = span as unknown as ReadableSpan;
        return enqueued;
      });
      await dispatcher.waitFor(job, { timeout: '10s' });
      await dispatcher.stop();

      const spans = exporter.getFinishedSpans();
      const attempts = attemptsOf(spans, 'flaky');
      expect(attempts.map((s) => s.attributes)).toEqual([
        { 'dispatch.job.id': job.id, 'dispatch.job.name': 'flaky', 'dispatch.queue': 'default', 'dispatch.job.attempt': 1, 'dispatch.job.outcome': 'retrying' },
        { 'dispatch.job.id': job.id, 'dispatch.job.name': 'flaky', 'dispatch.queue': 'default', 'dispatch.job.attempt': 2, 'dispatch.job.outcome': 'completed' },
      ]);
      const enqueuer = enqueuing.spanContext();
      for (const attempt of attempts) {
        // Linked to the enqueuing span, in a trace of its own.
        expect(attempt.links.map((l) => [l.context.traceId, l.context.spanId])).toEqual([[enqueuer.traceId, enqueuer.spanId]]);
        expect(attempt.parentSpanContext).toBeUndefined();
        expect(attempt.spanContext().traceId).not.toBe(enqueuer.traceId);
        const inside = spans.find((s) => s.name === 'inside the handler' && s.parentSpanContext?.spanId === attempt.spanContext().spanId);
        expect(inside?.spanContext().traceId).toBe(attempt.spanContext().traceId);
      }
      expect(attempts[0]!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'Error: first attempt fails' });
      expect(attempts[0]!.events.map((e) => [e.name, e.attributes?.['exception.message']])).toEqual([['exception', 'first attempt fails']]);
      expect(attempts[1]!.status.code).toBe(SpanStatusCode.UNSET);
    } finally {
      await dispatcher.stop();
      await target.cleanup();
    }
  });
});

describe('attempt spans', () => {
  it('end when the attempt times out or is cancelled, and link to nothing when nothing enqueued them in a span', async () => {
    const { exporter, provider } = tracing();
    const stuck = defineJob({
      name: 'stuck',
      input: z.object({}),
      maxRetries: 0,
      timeout: 50,
      handler: (_, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
    });
    const waits = defineJob({
      name: 'waits',
      input: z.object({}),
      handler: (_, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
    });
    const dispatcher = createDispatcher({ tracerProvider: provider }).register(stuck).register(waits);
    await dispatcher.start();
    try {
      const timedOut = await dispatcher.enqueue(stuck, {});
      const cancelled = await dispatcher.enqueue(waits, {});
      expect((await dispatcher.waitFor(timedOut, { timeout: '5s' })).state).toBe('dlq');
      while (attemptsOf(exporter.getFinishedSpans(), 'waits').length === 0 && (await dispatcher.getJob(cancelled.id))!.state !== 'running') {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await dispatcher.cancel(cancelled.id);
      await dispatcher.stop();
      const [timeout] = attemptsOf(exporter.getFinishedSpans(), 'stuck');
      expect(timeout!.attributes).toEqual({ 'dispatch.job.id': timedOut.id, 'dispatch.job.name': 'stuck', 'dispatch.queue': 'default', 'dispatch.job.attempt': 1, 'dispatch.job.outcome': 'dlq' });
      expect(timeout!.status.code).toBe(SpanStatusCode.ERROR);
      expect(timeout!.status.message).toMatch(/^TimeoutError: attempt 1 timed out after 50 ms/);
      expect(timeout!.links).toEqual([]);
      const [cancel] = attemptsOf(exporter.getFinishedSpans(), 'waits');
      expect(cancel!.attributes['dispatch.job.outcome']).toBe('cancelled');
      expect(cancel!.status.code).toBe(SpanStatusCode.UNSET);
    } finally {
      await dispatcher.stop();
    }
  });

  it('store no trace context for a job enqueued outside any span', async () => {
    const dispatcher = createDispatcher();
    const job = defineJob({ name: 'plain', input: z.object({}), handler: async () => {} });
    dispatcher.register(job);
    const { id } = await dispatcher.enqueue(job, {});
    expect((await dispatcher.store.get(id))!.traceContext).toBeUndefined();
    const traced = await trace.getTracer('app').startActiveSpan('no SDK', (span) => {
      const enqueued = dispatcher.enqueue(job, {});
      span.end();
      return enqueued;
    });
    // The API's tracer records nothing without a provider: nothing to link to.
    expect((await dispatcher.store.get(traced.id))!.traceContext).toBeUndefined();
    await dispatcher.stop();
  });
});
