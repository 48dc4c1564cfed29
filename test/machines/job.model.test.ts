import { memoryStore } from '../../src/index.js';
import { describeChartPaths } from '../support/chart-paths.js';

describeChartPaths('memory', async () => memoryStore());
