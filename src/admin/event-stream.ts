import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Observable, Subscription } from 'rxjs';
import type { TransitionEvent } from '../engine/events.js';

/** A comment line every so often keeps proxies from closing an idle stream. */
const KEEP_ALIVE_MS = 15_000;
/** Events written but not yet read by a slow client, past which new ones are dropped (and counted). */
const MAX_UNREAD = 1000;

/**
 * The chart's steps of this dispatcher as Server-Sent Events: `ready` once
 * subscribed, then one `transition` event a step (the TransitionEvent as
 * JSON), only those of `jobId` when given. Ends when the client goes, when
 * `closing` aborts (the server stops) or when the dispatcher stops.
 * Steps taken by other processes are not seen: clients poll for those.
 */
export function eventStream(c: Context, events$: Observable<TransitionEvent>, closing: AbortSignal, jobId: string | undefined): Response {
  return streamSSE(c, async (stream) => {
    let unread = 0;
    let dropped = 0;
    const send = (event: string, data: unknown) => {
      unread++;
      void stream.writeSSE({ event, data: JSON.stringify(data) }).finally(() => unread--);
    };
    await new Promise<void>((resolve) => {
      let subscription: Subscription | undefined;
      let keepAlive: NodeJS.Timeout | undefined;
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        clearInterval(keepAlive);
        subscription?.unsubscribe();
        closing.removeEventListener('abort', end);
        resolve();
      };
      if (closing.aborted) return end();
      stream.onAbort(end);
      closing.addEventListener('abort', end);
      keepAlive = setInterval(() => void stream.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
      subscription = events$.subscribe({
        next: (e) => {
          if (jobId !== undefined && e.jobId !== jobId) return;
          if (unread >= MAX_UNREAD) {
            dropped++;
            return;
          }
          if (dropped > 0) {
            send('dropped', { count: dropped });
            dropped = 0;
          }
          send('transition', e);
        },
        // The dispatcher stopped.
        complete: end,
      });
      if (ended) subscription.unsubscribe();
      else send('ready', { jobId: jobId ?? null });
    });
  });
}
