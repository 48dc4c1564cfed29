import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import {
  DispatchError,
  InvalidTransitionError,
  JobKeyConflictError,
  JobNotFoundError,
  LifecycleError,
  StaleWriteError,
  ValidationError,
} from '../errors.js';

/** The body of every error the admin API answers. `field` names the query parameter or body field at fault. */
export interface ErrorBody {
  error: { status: number; message: string; field?: string };
}

/** An HTTP error with the API's JSON body, for what the routes find wrong themselves. */
export function httpError(status: ContentfulStatusCode, message: string, field?: string): HTTPException {
  const body: ErrorBody = { error: { status, message, ...(field === undefined ? {} : { field }) } };
  return new HTTPException(status, { res: Response.json(body, { status }) });
}

/** A 404 for a job that is not there. */
export function notFound(what: string): HTTPException {
  return httpError(404, what);
}

/**
 * The library's typed errors as HTTP answers: bad input 400 (naming the
 * field), an unknown job 404, a move the chart refuses or a lost race 409,
 * a stopped dispatcher 503; anything else a 500 that says nothing of its insides.
 */
export function errorResponse(error: unknown, c: Context, report: (error: unknown) => void): Response {
  if (error instanceof HTTPException) return error.getResponse();
  const answer = (status: ContentfulStatusCode, message: string, field?: string) =>
    c.json({ error: { status, message, ...(field === undefined ? {} : { field }) } } satisfies ErrorBody, status);
  if (error instanceof ValidationError) return answer(400, error.message, error.field);
  if (error instanceof JobNotFoundError) return answer(404, error.message);
  if (error instanceof InvalidTransitionError || error instanceof StaleWriteError || error instanceof JobKeyConflictError) return answer(409, error.message);
  if (error instanceof LifecycleError) return answer(503, error.message);
  report(error);
  return answer(500, error instanceof DispatchError ? error.message : 'internal error');
}
