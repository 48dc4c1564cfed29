import { sqliteStore } from '../../src/index.js';
import { describeStoreConformance } from './conformance.js';
import { tempDatabase } from './sqlite/temp-file.js';

describeStoreConformance('sqlite', async () => {
  const temp = tempDatabase();
  const store = sqliteStore({ path: temp.path });
  await store.open();
  return { store, cleanup: async () => temp.remove() };
});
