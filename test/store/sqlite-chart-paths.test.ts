import { sqliteStore } from '../../src/index.js';
import { describeChartPaths } from '../support/chart-paths.js';
import { tempDatabase } from './sqlite/temp-file.js';

const files: Array<ReturnType<typeof tempDatabase>> = [];

describeChartPaths(
  'sqlite',
  async () => {
    const file = tempDatabase();
    files.push(file);
    return sqliteStore({ path: file.path });
  },
  async () => {
    for (const file of files.splice(0)) file.remove();
  },
);
