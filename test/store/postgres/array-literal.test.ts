import { describe, expect, it } from 'vitest';
import { boolArray, numberArray, textArray } from '../../../src/store/postgres/array-literal.js';
import { sql } from './database.js';

// The store sends its array parameters as literals it makes itself: the server must read back exactly what was meant.
describe('postgres store: array parameters made as literals', () => {
  it('reads back strings as sent: quotes, backslashes, braces, commas, spaces, empty, the word NULL, JSON text, runs', async () => {
    const values = ['plain', 'with "quotes"', 'back\\slash', '{braces}', 'a,b', ' spaced ', '', 'NULL', 'null', '"SUCCEED"', '"SUCCEED"', '{"a":"b\\"c"}', 'ünïcödé', null, 'plain'];
    const [row] = await sql<{ v: Array<string | null> }>('SELECT $1::text[] AS v', [textArray(values)]);
    expect(row!.v).toEqual(values);
  });

  it('reads back numbers (integers, fractions, epoch ms) and nulls, and booleans', async () => {
    const numbers = [0, 2, -7, 1.5, 1_764_650_000_123, null, 2 ** 31 - 1];
    const bools = [true, false, false, true];
    const [row] = await sql<{ n: Array<number | null>; b: boolean[] }>('SELECT $1::float8[] AS n, $2::bool[] AS b', [numberArray(numbers), boolArray(bools)]);
    expect(row!.n).toEqual(numbers);
    expect(row!.b).toEqual(bools);
    const [ints] = await sql<{ v: string[] }>('SELECT $1::bigint[]::text[] AS v', [textArray(['1', '9223372036854775807'])]);
    expect(ints!.v).toEqual(['1', '9223372036854775807']);
  });

  it('reads empty arrays as empty', async () => {
    const [row] = await sql<{ t: string[]; n: number[]; b: boolean[] }>('SELECT $1::text[] AS t, $2::int[] AS n, $3::bool[] AS b', [textArray([]), numberArray([]), boolArray([])]);
    expect(row).toEqual({ t: [], n: [], b: [] });
  });
});
