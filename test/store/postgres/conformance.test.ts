import { describeStoreConformance } from '../conformance.js';
import { openStore } from './database.js';

describeStoreConformance('postgres', () => openStore({ onError: () => undefined }));
