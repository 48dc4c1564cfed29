import { z } from 'zod';
import { type Duration, durationField } from '../duration.js';
import { InvalidOptionError } from '../errors.js';
import { parseOrThrow } from '../job/options.js';
import { type OptionShape, strictOptions } from '../strict-options.js';

/** A source of metrics in the Prometheus text format, served at `GET /metrics`. */
export interface MetricsSource {
  contentType: string;
  metrics(): Promise<string>;
}

export interface AdminOptions {
  /**
   * When set, every `/api` route (and `/metrics`) needs `Authorization:
   * Bearer <token>`; the event stream also takes it as `?token=`, as a
   * browser's EventSource cannot send headers.
   */
  token?: string;
  /** Refuses every action (cancel, replay, pause...) with a 403; reads still work. Default false. */
  readOnly?: boolean;
  /** How often the store's counts are sampled for the throughput chart. Default `'5s'`. */
  sampleEvery?: Duration;
  /**
   * Served at `GET /metrics` (behind the token). Default: this dispatcher's
   * `prometheusMetrics`; `false` serves none (a 404).
   */
  metrics?: MetricsSource | false;
  /** Told of a failure the API answered with a 500 (a store that is down...). Default: `console.error`. */
  onError?: (error: unknown) => void;
}

export interface AdminSettings {
  token: string | null;
  readOnly: boolean;
  sampleEveryMs: number;
  /** Null: the default, made for the dispatcher; false: none. */
  metrics: MetricsSource | false | null;
  onError: (error: unknown) => void;
}

const schema = strictOptions(
  {
    token: z.string({ error: 'must be a string' }).min(8, { error: 'must be at least 8 characters' }).optional(),
    readOnly: z.boolean({ error: 'must be true or false' }).optional(),
    sampleEvery: durationField(100).optional(),
    metrics: z
      .custom<MetricsSource | false>((v) => v === false || (typeof v === 'object' && v !== null && typeof (v as MetricsSource).metrics === 'function' && typeof (v as MetricsSource).contentType === 'string'), {
        error: 'must be false or { contentType: string, metrics(): Promise<string> }',
      })
      .optional(),
    onError: z.custom<(error: unknown) => void>((v) => typeof v === 'function', { error: 'must be a function' }).optional(),
  } satisfies OptionShape<AdminOptions>,
  'admin',
);

export function parseAdminOptions(options: AdminOptions | undefined): AdminSettings {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'must be an object such as { token }');
  const parsed = parseOrThrow(schema, options, '');
  return {
    token: parsed.token ?? null,
    readOnly: parsed.readOnly ?? false,
    sampleEveryMs: parsed.sampleEvery ?? 5000,
    metrics: parsed.metrics ?? null,
    onError: parsed.onError ?? ((error) => console.error('dispatch admin API:', error)),
  };
}
