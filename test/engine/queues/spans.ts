/** When a job's handler ran. */
export interface Span {
  id: string;
  start: number;
  end: number;
}

/** The most spans running at one moment; a span ending as another starts does not overlap it. */
export function maxOverlap(spans: readonly Span[]): number {
  const edges = spans.flatMap((s) => [
    [s.start, 1],
    [s.end, -1],
  ]);
  edges.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let now = 0;
  let most = 0;
  for (const [, step] of edges) most = Math.max(most, (now += step!));
  return most;
}

/** The most starts inside any window of `perMs` (a start exactly `perMs` after another is in the next window). */
export function maxInWindow(starts: readonly number[], perMs: number): number {
  const sorted = [...starts].sort((a, b) => a - b);
  let most = 0;
  let from = 0;
  for (let i = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[from]! >= perMs) from++;
    most = Math.max(most, i - from + 1);
  }
  return most;
}
