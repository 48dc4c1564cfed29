import { serveAdmin } from '../../admin/serve.js';
import { intArg } from '../args.js';
import type { CommandFamily } from '../main.js';
import { waitForSignal } from '../signals.js';
import { type StoreFlags, storeOptions, withDispatcher } from '../session.js';

interface DashboardFlags extends StoreFlags {
  port: string;
  host: string;
  token?: string;
}

/**
 * `dispatch dashboard`: serves the admin API and the web dashboard over a
 * store until SIGINT or SIGTERM. It runs no jobs: workers elsewhere do.
 */
export const dashboardCommand: CommandFamily = (program, ctx) => {
  const command = program
    .command('dashboard')
    .description('serve the web dashboard and the admin API over a store, until Ctrl-C (it runs no jobs)')
    .option('--port <port>', 'the port to listen on, 0 for any free one', '4300')
    .option('--host <host>', 'the address to bind; beyond this machine, changes need --token', '127.0.0.1')
    .option('--token <token>', 'a bearer token every route needs (default: $DISPATCH_TOKEN)')
    .addHelpText('after', '\nExamples:\n  dispatch dashboard --store sqlite:./jobs.db\n  dispatch dashboard --store postgres://app@db/app --host 0.0.0.0 --port 8080 --token "$TOKEN"');
  storeOptions(command, true).action(async (flags: DashboardFlags) => {
    const port = intArg(flags.port, '--port');
    const token = flags.token ?? ctx.env.DISPATCH_TOKEN;
    await withDispatcher(ctx, flags, async (dispatcher) => {
      const signalled = waitForSignal(ctx);
      try {
        const server = await serveAdmin(dispatcher, { port, host: flags.host, ...(token ? { token } : {}) });
        ctx.print.line(`dashboard: ${server.url}`);
        ctx.print.note('dispatch: serving the dashboard; stop with Ctrl-C or SIGTERM');
        await signalled.first;
        await server.close();
      } finally {
        signalled.release();
      }
    });
  });
};
