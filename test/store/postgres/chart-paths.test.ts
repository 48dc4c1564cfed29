import { postgresStore } from '../../../src/postgres.js';
import { describeChartPaths } from '../../support/chart-paths.js';
import { databaseUrl, dropSchema, freshSchema } from './database.js';

const schemas: string[] = [];

describeChartPaths(
  'postgres',
  async () => {
    const schema = freshSchema();
    schemas.push(schema);
    return postgresStore({ connectionString: databaseUrl(), schema });
  },
  async () => {
    for (const schema of schemas) await dropSchema(schema);
  },
);
