import { InvalidOptionError } from '../../errors.js';
import type { MigrationReport, Store } from '../../store/contract.js';
import type { CommandFamily } from '../main.js';
import { jsonOption, openStore, type StoreFlags, storeOptions } from '../session.js';

interface Migrating extends Store {
  migrate(): Promise<MigrationReport>;
}

const migrates = (store: Store): store is Migrating => typeof (store as Partial<Migrating>).migrate === 'function';

/** `dispatch migrate`: brings the store's schema up to date and says what it did. */
export const migrateCommand: CommandFamily = (program, ctx) => {
  const command = program
    .command('migrate')
    .description("apply the store's pending migrations (creating its tables if need be), then close it")
    .addHelpText('after', '\nExamples:\n  dispatch migrate --store sqlite:./jobs.db\n  DISPATCH_STORE=postgres://app@db/app dispatch migrate --schema jobs');
  jsonOption(storeOptions(command)).action(async (flags: StoreFlags) => {
    const store = await openStore(ctx, flags);
    if (!migrates(store)) throw new InvalidOptionError('--store', `a ${store.kind} store has no migrations`);
    const report = await store.migrate();
    if (flags.json) return ctx.print.json({ store: store.kind, ...report });
    if (report.applied.length === 0) return ctx.print.line(`${store.kind}: schema at version ${report.to}, nothing to do`);
    for (const step of report.applied) ctx.print.line(`applied ${step.version}: ${step.name}`);
    ctx.print.line(`${store.kind}: schema from version ${report.from} to ${report.to}`);
  });
};
