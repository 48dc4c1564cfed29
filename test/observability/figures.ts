import { MeterProvider, MetricReader, type DataPoint, type Histogram, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { z } from 'zod';
import { backoff, defineJob, PermanentError } from '../../src/index.js';

/** A reader collected on demand: what an exporter would be sent. */
export class CollectingReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}

  /** Every data point by instrument name. */
  async points(): Promise<Map<string, Array<DataPoint<unknown>>>> {
    const { resourceMetrics, errors } = await this.collect();
    if (errors.length > 0) throw errors[0];
    return pointsOf(resourceMetrics);
  }
}

function pointsOf(resource: ResourceMetrics): Map<string, Array<DataPoint<unknown>>> {
  const byName = new Map<string, Array<DataPoint<unknown>>>();
  for (const scope of resource.scopeMetrics) {
    for (const metric of scope.metrics) byName.set(metric.descriptor.name, [...(byName.get(metric.descriptor.name) ?? []), ...metric.dataPoints]);
  }
  return byName;
}

export function meterProvider(): { provider: MeterProvider; reader: CollectingReader } {
  const reader = new CollectingReader();
  return { provider: new MeterProvider({ readers: [reader] }), reader };
}

/** The value of the point whose attributes are exactly `attributes`; undefined when there is none. */
export function valueAt<T>(points: Array<DataPoint<unknown>> | undefined, attributes: Record<string, string>): T | undefined {
  const point = points?.find((p) => JSON.stringify(sorted(p.attributes)) === JSON.stringify(sorted(attributes)));
  return point?.value as T | undefined;
}

export type HistogramValue = Histogram;

function sorted(attributes: Record<string, unknown>): Array<[string, unknown]> {
  return Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : 1));
}

/** Fails its first attempt, then completes. */
export const flaky = defineJob({
  name: 'flaky',
  input: z.object({}),
  maxRetries: 3,
  backoff: backoff.constant('1s'),
  handler: async (_, ctx) => {
    if (ctx.attempt === 1) throw new Error('first attempt fails');
  },
});

/** Fails for good on its first attempt: straight to the DLQ. */
export const doomed = defineJob({
  name: 'doomed',
  input: z.object({}),
  queue: 'hard',
  handler: async () => {
    throw new PermanentError('never works');
  },
});
