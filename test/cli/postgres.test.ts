import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { databaseUrl, dropSchema, freshSchema, sql } from '../store/postgres/database.js';
import { cli, cliJson, JOBS } from './run-cli.js';

describe('dispatch on a Postgres store', () => {
  const schemas: string[] = [];
  const schema = () => {
    const name = freshSchema();
    schemas.push(name);
    return name;
  };
  afterEach(async () => {
    await Promise.all(schemas.splice(0).map(dropSchema));
  });

  it('migrates a new schema, saying what it applied, then finds nothing to do; --schema or DISPATCH_SCHEMA names it', async () => {
    const name = schema();
    const latest = MIGRATIONS.at(-1)!.version;
    const first = await cli(['migrate', '--store', databaseUrl(), '--schema', name]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`applied 1: ${MIGRATIONS[0]!.name}`);
    expect(first.stdout).toContain(`postgres: schema from version 0 to ${latest}`);
    const versions = await sql<{ version: number }>(`SELECT version FROM "${name}".migrations ORDER BY version`);
    expect(versions.map((v) => v.version)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await cliJson(['migrate'], { DISPATCH_STORE: databaseUrl(), DISPATCH_SCHEMA: name })).toEqual({ store: 'postgres', from: latest, to: latest, applied: [] });
  });

  it('enqueues and finds jobs there, postgresql:// as well as postgres://', async () => {
    const name = schema();
    const url = databaseUrl().replace(/^postgres:/, 'postgresql:');
    const id = (await cli(['enqueue', 'greet', '{"who":"pg"}', '--store', url, '--schema', name, '--jobs', JOBS])).stdout.trim();
    const { jobs } = await cliJson<{ jobs: Array<{ id: string; input: unknown }> }>(['jobs', 'ls', '--state', 'pending', '--store', databaseUrl(), '--schema', name]);
    expect(jobs).toEqual([expect.objectContaining({ id, input: { who: 'pg' } })]);
  });

  it('refuses a bad URL or schema with exit 2 naming the option, and an unreachable server with exit 1', async () => {
    const badUrl = await cli(['jobs', 'ls', '--store', 'postgres://h:notaport/db']);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toMatch(/^dispatch: --store: is not a URL/);
    const badSchema = await cli(['jobs', 'ls', '--store', databaseUrl(), '--schema', 'pg_mine']);
    expect(badSchema.code).toBe(2);
    expect(badSchema.stderr).toMatch(/^dispatch: --schema: must not start with pg_/);
    const down = await cli(['migrate', '--store', 'postgres://nobody@127.0.0.1:1/none']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^dispatch: .*ECONNREFUSED/);
  });
});
