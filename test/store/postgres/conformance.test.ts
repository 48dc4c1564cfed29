import { storeSuite } from '../../../src/testing/store-suite.js';
import { openStore } from './database.js';

storeSuite(() => openStore({ onError: () => undefined }), { name: 'postgres' });
