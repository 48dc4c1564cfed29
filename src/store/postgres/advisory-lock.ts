/**
 * Advisory locks are keyed by a bigint; ours come from a readable name
 * (`dispatch:<schema>:...`) through md5, so two schemas in one database, or
 * another library's locks, do not collide by accident.
 */
export const lockKey = (param: string) => `('x' || left(md5(${param}), 16))::bit(64)::bigint`;

export const lockName = (schema: string, what: string) => `dispatch:${schema}:${what}`;
