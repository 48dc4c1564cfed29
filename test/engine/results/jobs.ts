import { z } from 'zod';
import { defineJob } from '../../../src/index.js';

/** A job with a result: the test and the worker process both register it. */
export const invoice = defineJob({
  name: 'invoice',
  input: z.object({ lines: z.array(z.number()) }),
  output: z.object({ total: z.number(), currency: z.string().default('EUR') }),
  handler: ({ lines }) => ({ total: lines.reduce((a, b) => a + b, 0) }),
});

/** Where a worker process finds the jobs: a SQLite file, or a Postgres schema. */
export type Location = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; schema: string };
