import { describe, expect, it } from 'vitest';
import { InvalidOptionError, StoreConfigError } from '../../src/index.js';
import { storeFrom } from '../../src/cli/store-spec.js';

describe('--store', () => {
  it('names a SQLite file, Postgres, or (for a worker only) memory', async () => {
    expect((await storeFrom('sqlite:./jobs.db', { memory: false })).kind).toBe('sqlite');
    expect((await storeFrom('jobs.sqlite3', { memory: false })).kind).toBe('sqlite');
    const pg = await storeFrom('postgresql://app@localhost/app', { memory: false, schema: 'jobs' });
    expect([pg.kind, (pg as unknown as { schema: string }).schema]).toEqual(['postgres', 'jobs']);
    expect((await storeFrom('memory', { memory: true })).kind).toBe('memory');
  });

  it('refuses what it cannot use with a typed error naming the option', async () => {
    const refused = async (spec: string | undefined, options: { memory: boolean; schema?: string }) => storeFrom(spec, options).catch((e: unknown) => e);
    for (const [spec, options, field] of [
      [undefined, { memory: false }, '--store'],
      ['memory', { memory: false }, '--store'],
      ['redis://localhost', { memory: true }, '--store'],
      ['sqlite:', { memory: false }, '--store'],
      ['sqlite:./jobs.db', { memory: false, schema: 'x' }, '--schema'],
      ['postgres://app@localhost/app', { memory: false, schema: 'pg_x' }, '--schema'],
    ] as const) {
      const error = await refused(spec, options);
      expect(error, String(spec)).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).field).toBe(field);
    }
    expect(await refused('postgres://h:port/db', { memory: false })).toBeInstanceOf(StoreConfigError);
  });
});
