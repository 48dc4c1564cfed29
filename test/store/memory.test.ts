import { memoryStore } from '../../src/index.js';
import { describeStoreConformance } from './conformance.js';

describeStoreConformance('memory', async () => {
  const store = memoryStore();
  await store.open();
  return { store };
});
