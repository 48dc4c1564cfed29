import { sqliteStore } from '../../src/index.js';
import { storeSuite } from '../../src/testing/store-suite.js';
import { tempDatabase } from './sqlite/temp-file.js';

storeSuite(
  async () => {
    const temp = tempDatabase();
    const store = sqliteStore({ path: temp.path });
    await store.open();
    return { store, cleanup: async () => temp.remove() };
  },
  { name: 'sqlite' },
);
