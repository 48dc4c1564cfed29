import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  defineJob,
  InvalidOptionError,
  InvalidOutputError,
  type JobRecord,
  NotSerializableError,
  type OutputOf,
  PayloadTooLargeError,
  ValidationError,
} from '../../src/index.js';
import { checkOutput } from '../../src/job/output.js';

const invoice = defineJob({
  name: 'invoice',
  input: z.object({ lines: z.array(z.number()) }),
  output: z.object({ total: z.number(), currency: z.string().default('EUR') }),
  handler: ({ lines }) => ({ total: lines.reduce((a, b) => a + b, 0) }),
});
const untyped = defineJob({ name: 'untyped', input: z.object({}), handler: async () => ({ anything: [1, 'two'] }) });
const MiB = 1024 * 1024;

function refusal(run: () => unknown): ValidationError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a refusal');
}

describe('checkOutput', () => {
  it('answers the parsed result as JSON: defaults and transforms applied', () => {
    expect(checkOutput(invoice, { total: 12 }, MiB)).toBe('{"total":12,"currency":"EUR"}');
    const rounding = defineJob({
      name: 'rounding',
      input: z.object({}),
      output: z.number().transform((n) => Math.round(n)),
      handler: () => 2.6,
    });
    expect(checkOutput(rounding, 2.6, MiB)).toBe('3');
  });

  it('refuses a result that does not match the schema, naming the field and the reason', () => {
    const error = refusal(() => checkOutput(invoice, { total: 'twelve' }, MiB));
    expect(error).toBeInstanceOf(InvalidOutputError);
    expect(error.field).toBe('output.total');
    expect(error.reason).toMatch(/expected number/);
    expect(error.message).toMatch(/^output\.total: /);
    expect((error as InvalidOutputError).issues).toEqual([{ path: 'total', message: error.reason }]);
  });

  it('names the whole output when the result is of the wrong kind altogether', () => {
    const error = refusal(() => checkOutput(invoice, undefined, MiB));
    expect(error).toBeInstanceOf(InvalidOutputError);
    expect(error.field).toBe('output');
    expect(refusal(() => checkOutput(invoice, { total: 1, currency: 5 }, MiB)).field).toBe('output.currency');
  });

  it('answers undefined for no result, with or without a schema', () => {
    expect(checkOutput(untyped, undefined, MiB)).toBeUndefined();
    const optional = defineJob({ name: 'optional', input: z.object({}), output: z.string().optional(), handler: () => undefined });
    expect(checkOutput(optional, undefined, MiB)).toBeUndefined();
  });

  it('keeps any JSON result of a job with no schema, null included', () => {
    expect(checkOutput(untyped, { anything: [1, 'two', null] }, MiB)).toBe('{"anything":[1,"two",null]}');
    expect(checkOutput(untyped, null, MiB)).toBe('null');
    expect(checkOutput(untyped, 'done', MiB)).toBe('"done"');
  });

  it('refuses a result JSON would change, naming where it is', () => {
    const date = refusal(() => checkOutput(untyped, { at: new Date() }, MiB));
    expect(date).toBeInstanceOf(NotSerializableError);
    expect(date.field).toBe('output.at');
    expect(refusal(() => checkOutput(untyped, [1, () => 2], MiB)).field).toBe('output[1]');
    expect(refusal(() => checkOutput(untyped, 10n, MiB))).toBeInstanceOf(NotSerializableError);
    // A schema whose output is not JSON (a transform to a Date) is refused too.
    const dated = defineJob({ name: 'dated', input: z.object({}), output: z.string().transform((s) => new Date(s)), handler: () => '2024-01-01' });
    expect(refusal(() => checkOutput(dated, '2024-01-01', MiB))).toBeInstanceOf(NotSerializableError);
  });

  it('refuses a result over the payload limit, counting UTF-8 bytes', () => {
    expect(checkOutput(untyped, 'é'.repeat(40), 82)).toBe(`"${'é'.repeat(40)}"`);
    const error = refusal(() => checkOutput(untyped, 'é'.repeat(41), 82));
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error.field).toBe('output');
    expect(error).toMatchObject({ bytes: 84, limit: 82 });
  });
});

describe('defineJob with an output schema', () => {
  it('keeps the schema on the definition, and none when not given', () => {
    expect(invoice.output).toBeInstanceOf(z.ZodObject);
    expect(untyped.output).toBeUndefined();
  });

  it('refuses an output that is not a zod schema', () => {
    const bad = () => defineJob({ name: 'bad', input: z.object({}), output: { total: 'number' } as unknown as z.ZodType, handler: () => 1 });
    expect(bad).toThrow(InvalidOptionError);
    expect(bad).toThrow(/defineJob\.output: must be a zod schema/);
  });

  it('carries the result type, and checks the handler against it at compile time', () => {
    expectTypeOf<OutputOf<typeof invoice>>().toEqualTypeOf<{ total: number; currency: string }>();
    expectTypeOf<OutputOf<typeof untyped>>().toEqualTypeOf<unknown>();
    expectTypeOf<JobRecord<unknown, OutputOf<typeof invoice>>['result']>().toEqualTypeOf<{ total: number; currency: string } | null>();

    // What the schema takes in may be returned, or resolved with; the default fills the rest.
    defineJob({ name: 't1', input: z.object({}), output: invoice.output, handler: async () => ({ total: 1 }) });
    // @ts-expect-error a result of the wrong shape does not compile
    defineJob({ name: 't2', input: z.object({}), output: z.object({ total: z.number() }), handler: () => ({ total: '1' }) });
    // @ts-expect-error nor does returning nothing when an output is declared
    defineJob({ name: 't3', input: z.object({}), output: z.object({ total: z.number() }), handler: async () => {} });
    // Without an output a handler may return anything, or nothing.
    defineJob({ name: 't4', input: z.object({}), handler: () => 42 });
    defineJob({ name: 't5', input: z.object({}), handler: async () => {} });
  });
});
