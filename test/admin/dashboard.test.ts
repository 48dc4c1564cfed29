import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { backoff, createDispatcher, defineJob, PermanentError } from '../../src/index.js';
import { type StoreTarget, storeTargets } from '../support/store-targets.js';
import { until } from '../support/until.js';
import { type AdminHarness, startAdmin, work } from './admin-harness.js';

/** Debian's Chromium, driven by playwright-core: never a browser download. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const targets = storeTargets('dispatch-dashboard-');

/** Fails for good until the test says the service is back. */
let serviceBack = false;
const flaky = defineJob({
  name: 'flaky',
  input: z.object({}),
  maxRetries: 0,
  handler: async () => {
    if (!serviceBack) throw new PermanentError('the service is down');
  },
});

describe('the dashboard in headless Chromium', () => {
  let browser: Browser;
  let target: StoreTarget;
  let admin: AdminHarness;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    // One page for the file: a new one costs seconds on a busy machine.
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('dialog', (dialog) => void dialog.accept());
  });
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    target = targets.memory();
    admin = await startAdmin(target);
    admin.dispatcher.register(flaky);
    errors.length = 0;
  });
  afterEach(async () => {
    // Leaves the dashboard first, so its stream and polling end before the server does.
    await page.goto('about:blank');
    await admin.close();
    await target.cleanup();
    expect(errors).toEqual([]);
  });

  it('loads the overview: jobs by state and by queue', async () => {
    const jobs = await admin.dispatcher.enqueueMany(work, [{ n: 1 }, { n: 2 }], { queue: 'mail' });
    for (const job of jobs) await admin.dispatcher.waitFor(job, { timeout: 10_000 });
    await admin.dispatcher.enqueue(work, { n: 3 }, { queue: 'mail', runAt: new Date(Date.now() + 3_600_000) });
    await page.goto(admin.url);
    await expect.poll(() => page.textContent('[data-count="completed"] .n')).toBe('2');
    expect(await page.textContent('[data-count="pending"] .n')).toBe('1');
    expect(await page.textContent('tr[data-queue="mail"]')).toContain('mail');
    expect(await page.locator('svg.throughput').count()).toBe(1);
  });

  it('shows a job move from pending to completed live: the lit state and the path in the chart follow it', async () => {
    await admin.dispatcher.queues.pause('live');
    const job = await admin.dispatcher.enqueue(work, { n: 5, ms: 600 }, { queue: 'live' });
    await page.goto(`${admin.url}#/jobs/${job.id}`);
    await page.waitForSelector('svg.chart [data-state="pending"].current');
    await page.waitForSelector('[data-live="ready"]');
    expect(await page.locator('svg.chart .state.current').count()).toBe(1);
    expect(await page.locator('svg.chart .state').count()).toBe(7);
    await admin.dispatcher.queues.resume('live');
    await page.waitForSelector('svg.chart [data-state="running"].current', { timeout: 10_000 });
    await page.waitForSelector('svg.chart [data-state="completed"].current', { timeout: 10_000 });
    expect(await page.locator('svg.chart [data-state="pending"].current').count()).toBe(0);
    expect(await page.locator('svg.chart .edge.taken[data-from="pending"][data-to="running"]').count()).toBe(1);
    expect(await page.locator('svg.chart .edge.taken[data-from="running"][data-to="completed"]').count()).toBe(1);
    expect(await page.locator('svg.chart .edge.taken[data-to="cancelled"]').count()).toBe(0);
    await expect.poll(() => page.textContent('.job-details')).toContain('"doubled": 10');
    // The steps as the stream named them (not as polling guessed them), in the timeline.
    const timeline = await page.locator('.card', { hasText: 'Timeline' }).textContent();
    expect(timeline).toContain('LEASE');
    expect(timeline).toContain('SUCCEED');
  });

  it("draws the stored history of a job another worker ran: its retry's path and that worker in the timeline", async () => {
    // Another worker on the same store, whose steps this dispatcher's stream never carries.
    const retried = defineJob({
      name: 'retried',
      input: z.object({}),
      maxRetries: 2,
      backoff: backoff.constant('10ms'),
      handler: async (_input, ctx) => {
        if (ctx.attempt === 1) throw new Error('first try fails');
      },
    });
    const other = createDispatcher({ store: admin.dispatcher.store, workerId: 'other-box', onError: () => undefined, retention: false });
    other.register(retried);
    await other.start();
    try {
      const job = await other.enqueue(retried, {});
      await other.waitFor(job, { timeout: 10_000 });
      await page.goto(`${admin.url}#/jobs/${job.id}`);
      await page.waitForSelector('svg.chart [data-state="completed"].current');
      for (const [from, to] of [['pending', 'running'], ['running', 'retrying'], ['retrying', 'pending'], ['running', 'completed']]) {
        expect(await page.locator(`svg.chart .edge.taken[data-from="${from}"][data-to="${to}"]`).count(), `${from} -> ${to}`).toBeGreaterThan(0);
      }
      expect(await page.locator('svg.chart .edge.taken[data-to="failed"]').count()).toBe(0);
      const timeline = await page.locator('.card', { hasText: 'Timeline' }).textContent();
      expect(timeline).toContain('other-box');
      expect(timeline).toContain('Error: first try fails');
      expect(timeline).toContain('SUCCEED');
    } finally {
      await other.stop();
    }
  });

  it('replays a DLQ entry from the DLQ page', async () => {
    serviceBack = false;
    const dead = await admin.dispatcher.enqueue(flaky, {});
    await admin.dispatcher.waitFor(dead, { timeout: 10_000 });
    await page.goto(`${admin.url}#/dlq`);
    const row = page.locator(`tr[data-job="${dead.id}"]`);
    await expect.poll(() => row.textContent()).toContain('the service is down');
    expect(await page.textContent('main')).not.toMatch(/\bnull\b/);
    serviceBack = true;
    await row.locator('button.replay').click();
    const done = await admin.dispatcher.waitFor(dead.id, { timeout: 10_000 });
    expect(done.state).toBe('completed');
    await expect.poll(() => page.locator(`tr[data-job="${dead.id}"]`).count()).toBe(0);
  });

  it('pauses a queue from the queues page', async () => {
    await admin.dispatcher.enqueue(work, { n: 1 }, { queue: 'mail', runAt: new Date(Date.now() + 3_600_000) });
    await page.goto(`${admin.url}#/queues`);
    expect(await page.locator('tr[data-queue="mail"] form.limits').isVisible()).toBe(false);
    await page.locator('tr[data-queue="mail"] button.pause').click();
    await until(async () => (await admin.dispatcher.queues.list()).some((q) => q.name === 'mail' && q.paused), 'the queue to be paused', 10_000);
    await page.waitForSelector('tr[data-queue="mail"] .badge.paused');
    await page.locator('tr[data-queue="mail"] button.resume').click();
    await until(async () => (await admin.dispatcher.queues.list()).some((q) => q.name === 'mail' && !q.paused), 'the queue to be resumed', 10_000);
  });

  it('draws something: a screenshot of the job page has many colours, a blank page one', async () => {
    const job = await admin.dispatcher.enqueue(work, { n: 1 });
    await admin.dispatcher.waitFor(job, { timeout: 10_000 });
    await page.goto(`${admin.url}#/jobs/${job.id}`);
    await page.waitForSelector('svg.chart [data-state="completed"].current');
    const drawn = await page.screenshot();
    await page.goto('about:blank');
    const blank = await page.screenshot();
    expect(await colours(page, blank)).toBe(1);
    expect(await colours(page, drawn)).toBeGreaterThan(50);
  });
});

/** How many distinct colours a PNG holds, decoded in the page (an <img> drawn on a canvas): no image library needed. */
async function colours(page: Page, png: Buffer): Promise<number> {
  return page.evaluate(async (data) => {
    // Runs in the page: its DOM, which this project's Node types do not describe.
    const { document, Image } = globalThis as any;
    const img = new Image();
    img.src = `data:image/png;base64,${data}`;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.width;
    canvas.height = img.height;
    const context = canvas.getContext('2d');
    context.drawImage(img, 0, 0);
    const pixels: Uint8ClampedArray = context.getImageData(0, 0, img.width, img.height).data;
    const seen = new Set<number>();
    for (let i = 0; i < pixels.length; i += 4) seen.add((pixels[i]! << 16) | (pixels[i + 1]! << 8) | pixels[i + 2]!);
    return seen.size;
  }, png.toString('base64'));
}
