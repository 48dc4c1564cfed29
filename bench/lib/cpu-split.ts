/**
 * BENCH_CPU_SPLIT=1: what a process run costs in CPU per job, split between
 * the measured process and the PostgreSQL server processes serving its
 * connections (Linux: /proc/<pid>/schedstat). On a machine with fewer cores
 * than busy processes the rate follows the sum of the two, not either alone.
 * Printed to stderr as `CPU_SPLIT {json}`; the rate is measured as without it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';

export const CPU_SPLIT = process.env.BENCH_CPU_SPLIT === '1';

const pools: pg.Pool[] = [];

/** Remembers every pg pool made from now on (ours and the peers', who construct `pg.Pool` when they start). */
export function trackPools(): void {
  const Base = pg.Pool;
  pg.Pool = class extends Base {
    constructor(...args: ConstructorParameters<typeof Base>) {
      super(...args);
      pools.push(this);
    }
  } as typeof Base;
}

/** CPU ns of every PostgreSQL server process, by pid. */
function serverCpu(): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/comm`, 'utf8').startsWith('postgres')) continue;
      out.set(Number(entry), Number(readFileSync(`/proc/${entry}/schedstat`, 'utf8').split(' ')[0]));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/** The server pids behind the tracked pools' connections, found by their client ports. */
async function serverPids(): Promise<number[]> {
  const ports = new Set<number>();
  for (const pool of pools) {
    for (const client of (pool as unknown as { _clients: Array<{ connection?: { stream?: { localPort?: number } } }> })._clients) {
      const port = client.connection?.stream?.localPort;
      if (port) ports.add(port);
    }
  }
  const open = pools.find((pool) => !pool.ending && !pool.ended);
  if (!open || ports.size === 0) return [];
  const { rows } = await open.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE client_port = ANY ($1::int[])', [[...ports]]);
  return rows.map((row) => row.pid);
}

/** Starts counting; the function returned answers us per job for `n` jobs (server null without pools). */
export function cpuSplitStart(): (n: number) => Promise<{ processUsPerJob: number; serverUsPerJob: number | null }> {
  const process0 = process.cpuUsage();
  const server0 = serverCpu();
  return async (n) => {
    const used = process.cpuUsage(process0);
    const pids = await serverPids();
    const server1 = serverCpu();
    const serverNs = pids.reduce((sum, pid) => sum + (server1.get(pid) ?? 0) - (server0.get(pid) ?? 0), 0);
    return { processUsPerJob: (used.user + used.system) / n, serverUsPerJob: pids.length ? serverNs / 1000 / n : null };
  };
}
