/**
 * Helpers for tests (`dispatch-ts/testing`): the store conformance suite a
 * new store proves itself with, and the model-based path generator the
 * project tests its own charts with. vitest is an optional peer dependency,
 * needed only here.
 */
export { storeSuite, type StoreSuiteOptions, type StoreUnderTest } from './testing/store-suite.js';
export { holdDuty, NAMES, newJob, room } from './testing/store-jobs.js';
export { chartPaths, chartTests, type ChartPath, type ChartPathOptions } from './testing/chart-tests.js';
export { AFTER_BACKOFF, AFTER_TIMEOUT, CHART_EVENTS as jobChartEvents, type ChartEvent } from './testing/job-events.js';
export { createTestDispatcher, type TestDispatcher, type TestDispatcherOptions } from './testing/test-dispatcher.js';
export { FakeClock } from './testing/fake-clock.js';
