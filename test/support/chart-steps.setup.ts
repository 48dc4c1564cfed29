import { afterEach, expect } from 'vitest';
import { jobMachine } from '../../machines/job.machine.js';
import { watchForStrays } from './chart-edges.js';

/**
 * Run before every test file: each step any kernel of the job chart decides
 * in a test must be an edge of `jobMachine` (a test fails otherwise). Charts
 * a test grows on purpose are left alone.
 */
const strays = watchForStrays(jobMachine);

afterEach(() => {
  expect(strays.take(), 'steps taken that are not edges of jobMachine').toEqual([]);
});
