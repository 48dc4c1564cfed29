import { memoryStore } from '../../src/index.js';
import { storeSuite } from '../../src/testing/store-suite.js';

storeSuite(
  async () => {
    const store = memoryStore();
    await store.open();
    return { store };
  },
  { name: 'memory' },
);
