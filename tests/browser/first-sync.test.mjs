// The blocking sync modal: the first sync of an empty cache (story 2), and
// the sync of a new Plex server (story 6). The emulator answers slowly
// (latency per item) so that the 20,000-track sync lasts a few seconds.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, newPage, screenshot, startDemo, tracksText, waitFor } from './harness.mjs';

const TRACKS = 20000;
const ITEM_LATENCY_US = 500;

/**
 * Installed before the page's own script: records every state the sync
 * modal shows (after each change of its text or bar, at most once a frame)
 * in `window.__modalLog`, so that a slow test machine misses none.
 */
function recordModal() {
  window.__modalLog = [];
  let queued = false;
  const snapshot = () => {
    queued = false;
    const dialog = document.getElementById('sync-modal');
    if (!dialog || !dialog.open) return;
    const bar = document.getElementById('sync-bar');
    const entry = {
      title: document.getElementById('sync-title').textContent,
      server: document.getElementById('sync-server').hidden ? null : document.getElementById('sync-server').textContent,
      phase: document.getElementById('sync-phase').textContent,
      count: document.getElementById('sync-count').textContent,
      rate: document.getElementById('sync-rate').textContent,
      eta: document.getElementById('sync-eta').textContent,
      valueNow: bar.hasAttribute('aria-valuenow') ? Number(bar.getAttribute('aria-valuenow')) : null,
      fill: parseFloat(document.getElementById('sync-bar-fill').style.width) || 0,
    };
    const last = window.__modalLog.at(-1);
    if (!last || JSON.stringify(last) !== JSON.stringify(entry)) window.__modalLog.push(entry);
  };
  const observer = new MutationObserver(() => {
    if (!queued) {
      queued = true;
      requestAnimationFrame(snapshot);
    }
  });
  const watch = () => {
    const dialog = document.getElementById('sync-modal');
    if (dialog) observer.observe(dialog, { subtree: true, childList: true, characterData: true, attributes: true });
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', watch);
  else watch();
}

/** Waits until the sync modal is closed (it must close within `timeout`). */
async function modalClosed(page, timeout = 60000) {
  await page.waitForFunction(() => !document.getElementById('sync-modal').open, null, { timeout, polling: 100 });
}

describe('blocking sync modal', () => {
  let browser;
  let demo;
  // What the first sync's modal showed, for the checks of the last test.
  const firstSyncTotals = [];
  const firstSyncValues = [];

  before(async () => {
    // The browser first: the sync starts as soon as the demo does.
    browser = await launchBrowser();
    demo = await startDemo({ tracks: TRACKS, itemLatencyUs: ITEM_LATENCY_US });
  });

  after(async () => {
    await browser?.close();
    await demo?.stop();
  });

  test('first sync shows phase, counts and a moving bar, then the library without a reload', async () => {
    const page = await newPage(browser);
    try {
      await page.addInitScript(recordModal);
      await page.goto(demo.url);
      await page.evaluate(() => {
        window.__sameDocument = true;
      });
      await page.waitForSelector('#sync-modal[open]', { timeout: 5000 });
      assert.ok(await page.locator('#sync-modal').isVisible(), 'the modal is on screen');
      assert.ok(await page.locator('#sync-bar').isVisible(), 'the bar is on screen');

      // A screenshot while the tracks are read and the bar is well along.
      await page.waitForFunction(
        () => {
          const v = Number(document.getElementById('sync-bar').getAttribute('aria-valuenow'));
          return document.getElementById('sync-phase').textContent === 'Reading tracks' && v >= 25;
        },
        null,
        { timeout: 20000, polling: 100 },
      );
      await screenshot(page, 'sync-modal.png');

      await modalClosed(page);
      const samples = await page.evaluate(() => window.__modalLog);
      assert.ok(samples.length > 0, 'the modal was recorded');
      for (const s of samples) assert.equal(s.title, 'Syncing your library');
      const phases = new Set(samples.map((s) => s.phase));
      assert.ok(phases.has('Reading tracks'), `phases seen: ${[...phases]}`);
      for (const s of samples) {
        assert.ok(
          ['Connecting', 'Reading artists', 'Reading albums', 'Reading tracks', 'Saving'].includes(s.phase),
          `unknown phase ${s.phase}`,
        );
      }

      // `current / total tracks`.
      const counted = samples.filter((s) => /^[\d,]+ \/ [\d,]+ tracks$/.test(s.count));
      assert.ok(counted.length >= 2, `counts seen: ${samples.map((s) => s.count).join(' | ')}`);
      for (const s of counted) {
        const [current, total] = s.count.replace(' tracks', '').split(' / ').map((n) => Number(n.replace(/,/g, '')));
        assert.ok(current <= total, s.count);
        assert.ok(total > 0 && total <= TRACKS, `total ${total} is at most the library's size`);
        firstSyncTotals.push(total);
      }
      assert.ok(samples.some((s) => /^[\d,]+ tracks\/s$/.test(s.rate)), 'a rate was shown');
      assert.ok(samples.some((s) => /left$/.test(s.eta)), 'a time left was shown');

      // The bar moves forward: its value and its fill grow with the count.
      const reading = samples.filter((s) => s.phase === 'Reading tracks' && s.valueNow !== null);
      const values = reading.map((s) => s.valueNow);
      assert.ok(new Set(values).size >= 2, `bar values seen: ${values}`);
      assert.ok(values.at(-1) > values[0], `bar values seen: ${values}`);
      for (const s of reading) assert.equal(s.fill, s.valueNow, 'the fill is as wide as the value says');
      firstSyncValues.push(...values);

      // Closed by itself: the library is there, in the same document.
      const status = await demo.status();
      assert.equal(status.is_syncing, false);
      assert.ok(status.track_count > 0);
      const matches = await demo.total('exclude_live=true');
      assert.ok(matches > 0);
      await page.waitForFunction(
        (text) => document.getElementById('match-count').textContent === text,
        tracksText(matches),
        { timeout: 5000 },
      );
      await page.waitForSelector('#track-rows [data-rating-key]', { timeout: 5000 });
      const visibleRows = await page.locator('#track-rows .tr[data-rating-key]:not([hidden])').count();
      assert.ok(visibleRows >= 5, `${visibleRows} rows visible`);
      assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was not reloaded');
      assert.equal(await page.locator('#sync-modal[open]').count(), 0);
      assert.match(await page.locator('#footer-count').textContent(), /^[\d,]+ tracks$/);
      assert.equal(await page.locator('#footer-count').textContent(), tracksText(status.track_count));
      assert.deepEqual(page.errors(), []);
    } finally {
      await page.closeAll();
    }
  });

  test('a new Plex server: the modal says so, then the new library is shown', async () => {
    await demo.waitSynced();
    const before = await demo.status();
    const open = await newPage(browser);
    try {
      await open.goto(demo.url);
      await open.waitForSelector('#track-rows [data-rating-key]');
      // Something selected on the old server must not survive the change.
      await open.locator('#track-rows .tr[aria-rowindex="2"] .row-check').check();
      assert.equal(await open.locator('#selection-count').textContent(), '1 selected');

      const newId = 'b7e1c0ffee0000000000000000000000000000aa';
      await demo.setFaults({ item_latency_us: ITEM_LATENCY_US });
      await demo.emulator('/machine-identifier', { method: 'PUT', body: newId });
      // The probe notices the new server and syncs it; the test asks too
      // (409 when the probe was first).
      await demo.apiRaw('/api/library/sync', { method: 'POST' });
      const during = await waitFor(
        async () => {
          const s = await demo.status();
          return s.is_syncing && s.server_changed && s.blocking && s;
        },
        { timeout: 5000, message: 'a blocking sync of the new server' },
      );
      assert.equal(during.track_count, 0, 'the old server’s tracks are not served');

      // Reopening the page during that sync shows the modal for a new server.
      const page = await newPage(browser);
      try {
        await page.addInitScript(recordModal);
        await page.goto(demo.url);
        await page.waitForSelector('#sync-modal[open]', { timeout: 5000 });
        assert.equal(await page.locator('#sync-title').textContent(), 'New Plex server detected — syncing its library');
        // The status still names the cached (old) server: the modal must not
        // present it as the source of the new library.
        assert.equal(await page.locator('#sync-server').isVisible(), false, 'no old server name in the modal');
        await screenshot(page, 'sync-modal-new-server.png');
        await modalClosed(page);
        const samples = await page.evaluate(() => window.__modalLog);
        assert.ok(samples.length > 0);
        for (const s of samples) {
          assert.equal(s.title, 'New Plex server detected — syncing its library');
          assert.equal(s.server, null);
        }

        const afterSync = await demo.waitSynced();
        assert.equal(afterSync.server.machine_identifier, newId);
        assert.equal(afterSync.server_changed, false);
        const matches = await demo.total('exclude_live=true');
        await page.waitForFunction((text) => document.getElementById('match-count').textContent === text, tracksText(matches));
        await page.waitForSelector('#track-rows [data-rating-key]');
        assert.deepEqual(page.errors(), []);
      } finally {
        await page.closeAll();
      }

      // The page that stayed open catches up at its next status poll: the
      // new library, and the old selection is gone.
      await open.waitForFunction(
        (count) =>
          document.getElementById('footer-count').textContent === count &&
          !document.getElementById('sync-modal').open &&
          document.getElementById('selection-count').textContent === '',
        tracksText(before.track_count),
        { timeout: 15000, polling: 100 },
      );
      assert.ok((await open.locator('#track-rows .tr[data-rating-key]:not([hidden])').count()) > 0);
      assert.deepEqual(open.errors(), []);
    } finally {
      await open.closeAll();
    }
  });

  // Kept apart so that the checks above stand on their own: the modal's
  // `total` is the whole library (all music sections) from the start, so the
  // bar never moves back.
  test('the first sync modal counts against the whole library and its bar never moves back', () => {
    assert.ok(firstSyncTotals.length > 0, 'the first test recorded the modal');
    assert.deepEqual([...new Set(firstSyncTotals)], [TRACKS], 'totals shown during the first sync');
    for (let i = 1; i < firstSyncValues.length; i++) {
      assert.ok(firstSyncValues[i] >= firstSyncValues[i - 1], `bar went back: ${firstSyncValues}`);
    }
  });
});
