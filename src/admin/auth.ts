import type { MiddlewareHandler } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { csrf } from 'hono/csrf';
import { HTTPException } from 'hono/http-exception';
import { timingSafeEqual } from 'hono/utils/buffer';
import { type ErrorBody, httpError } from './http-errors.js';

const body = (status: number, message: string): ErrorBody => ({ error: { status, message } });

/**
 * Every request needs `Authorization: Bearer <token>`. Where `query` is set
 * (the event stream: a browser's EventSource cannot send headers) the token
 * may come as `?token=` instead.
 */
export function requireToken(token: string, options: { query?: boolean } = {}): MiddlewareHandler {
  const header = bearerAuth({
    token,
    noAuthenticationHeader: { message: body(401, 'this API needs a token: send Authorization: Bearer <token>') },
    invalidAuthenticationHeader: { message: body(400, 'the Authorization header must be Bearer <token>') },
    invalidToken: { message: body(401, 'the token is not valid') },
  });
  return async (c, next) => {
    const given = options.query ? c.req.query('token') : undefined;
    if (given === undefined) return header(c, next);
    if (!(await timingSafeEqual(given, token))) throw httpError(401, 'the token is not valid');
    await next();
  };
}

/** Refuses every request that changes something, with the reason. */
export function refuseChanges(reason: string): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') throw httpError(403, reason);
    await next();
  };
}

/**
 * Refuses a change a browser sends from another site (a page the operator
 * visits posting to 127.0.0.1): Hono's CSRF check, which lets through a
 * same-origin page and any request whose content type a form cannot send
 * (`application/json`, which a cross-site page cannot send without CORS).
 */
export function refuseCrossSite(): MiddlewareHandler {
  const check = csrf();
  return async (c, next) => {
    try {
      await check(c, next);
    } catch (error) {
      if (error instanceof HTTPException && error.status === 403) {
        throw httpError(403, 'a change must come from the dashboard itself or send content-type: application/json (cross-site requests are refused)');
      }
      throw error;
    }
  };
}
