// A sync that fails between two status polls (started by the server or
// another client, never seen running by the page) is still announced; so
// is a failing sync told by the event stream.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, newPage, startDemo, waitFor } from './harness.mjs';

describe('sync failure between polls', () => {
  let browser;
  let demo;

  before(async () => {
    browser = await launchBrowser();
    // One try per request, so a failing sync ends well within a poll interval.
    // Without live updates: their catch-up refreshes would be syncs too.
    demo = await startDemo({ tracks: 2000, env: { PLEXCACHE_RETRIES: '0', PLEXCACHE_LIVE_UPDATES: 'false' } });
    await demo.waitSynced();
  });

  after(async () => {
    await browser?.close();
    await demo?.stop();
  });

  test('a sync failing unseen by any poll shows a toast, and so does the next one with the same error', async () => {
    const page = await newPage(browser);
    const polls = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/library/status') polls.push(Date.now());
    });
    // Polls only: with the event stream the page sees every sync start and end.
    await page.addInitScript(() => {
      delete window.EventSource;
    });
    try {
      await page.goto(demo.url);
      await page.waitForSelector('#track-rows [data-rating-key]');
      await demo.setFaults({ page_fault: { kind: 'error500', after: 0, times: 0 } });

      /** Right after a poll, a sync is started and fails before the next one. */
      const failUnseen = async () => {
        const seen = polls.length;
        await waitFor(() => polls.length > seen, { timeout: 12000, message: 'a status poll' });
        await new Promise((r) => setTimeout(r, 300));
        const before = polls.length;
        const started = await demo.apiRaw('/api/library/sync', { method: 'POST' });
        assert.ok([200, 202].includes(started.status), `sync started: ${started.status}`);
        const failed = await waitFor(
          async () => {
            const s = await demo.status();
            return !s.is_syncing && s.error && s;
          },
          { timeout: 5000, interval: 20, message: 'the sync to fail' },
        );
        assert.equal(polls.length, before, 'no poll saw the sync running');
        return failed;
      };

      const first = await failUnseen();
      await page.waitForSelector('.toast.error', { timeout: 12000 });
      assert.equal(await page.locator('.toast.error p').textContent(), `Sync failed: ${first.error}`);
      assert.equal(await page.locator('#footer-state').textContent(), 'Sync failed');

      // Dismissed; the next failure has the same message, and is news too.
      await page.locator('.toast.error button').click();
      await page.waitForSelector('.toast.error', { state: 'detached' });
      const second = await failUnseen();
      assert.equal(second.error, first.error, 'the same error text');
      await page.waitForSelector('.toast.error', { timeout: 12000 });

      // No toast for a failure that is not news: the next polls stay quiet.
      await page.locator('.toast.error button').click();
      const seen = polls.length;
      await waitFor(() => polls.length > seen + 1, { timeout: 20000, message: 'two more polls' });
      assert.equal(await page.locator('.toast.error').count(), 0);

      await demo.setFaults({});
      assert.deepEqual(page.errors(), []);
    } finally {
      await page.closeAll();
    }
  });

  test('a failing sync told by the event stream shows a toast, also the next one with the same error', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(demo.url);
      await page.waitForSelector('#track-rows [data-rating-key]');
      await demo.setFaults({ page_fault: { kind: 'error500', after: 0, times: 0 } });
      const fail = async () => {
        const started = await demo.apiRaw('/api/library/sync', { method: 'POST' });
        assert.equal(started.status, 200);
        return waitFor(
          async () => {
            const s = await demo.status();
            return !s.is_syncing && s.error && s;
          },
          { timeout: 10000, interval: 20, message: 'the sync to fail' },
        );
      };
      const first = await fail();
      await page.waitForSelector('.toast.error', { timeout: 5000 });
      assert.equal(await page.locator('.toast.error p').textContent(), `Sync failed: ${first.error}`);
      await page.waitForFunction(() => document.getElementById('footer-state').textContent === 'Sync failed');
      await page.locator('.toast.error button').click();
      await page.waitForSelector('.toast.error', { state: 'detached' });
      const second = await fail();
      assert.equal(second.error, first.error, 'the same error text');
      await page.waitForSelector('.toast.error', { timeout: 5000 });
      await demo.setFaults({});
      assert.deepEqual(page.errors(), []);
    } finally {
      await page.closeAll();
    }
  });
});
