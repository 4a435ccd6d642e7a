// The page following the library live: with the event stream
// (`/api/events`), a change on Plex and a sync update the counts and the
// visible rows in place (same scroll position, same selection, never an
// empty table) and a toast says what changed; without EventSource the page
// still catches up by polling.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, newPage, screenshot, startDemo, tracksText, waitFor } from './harness.mjs';

/** The loaded rows on screen, top to bottom: rating key and title. */
function visibleRows(page) {
  return page.evaluate(() => {
    const scroller = document.getElementById('track-scroll');
    const box = scroller.getBoundingClientRect();
    return Array.from(document.querySelectorAll('#track-rows .tr[data-rating-key]:not([hidden])'))
      .filter((row) => {
        const r = row.getBoundingClientRect();
        return r.top >= box.top + 30 && r.bottom <= box.bottom;
      })
      .sort((a, b) => Number(a.getAttribute('aria-rowindex')) - Number(b.getAttribute('aria-rowindex')))
      .map((row) => ({ key: row.dataset.ratingKey, title: row.querySelector('.title-main').firstChild.textContent }));
  });
}

/** The toasts' words. */
function toasts(page) {
  return page.evaluate(() => Array.from(document.querySelectorAll('#toasts .toast p'), (p) => p.textContent));
}

/** Counts animation frames in which the table showed no loaded row. */
function watchForEmptyTable(page) {
  return page.evaluate(() => {
    window.__emptyFrames = 0;
    window.__watching = true;
    const look = () => {
      if (!window.__watching) return;
      if (!document.querySelector('#track-rows .tr[data-rating-key]:not([hidden])')) window.__emptyFrames++;
      requestAnimationFrame(look);
    };
    requestAnimationFrame(look);
  });
}

function stopWatching(page) {
  return page.evaluate(() => {
    window.__watching = false;
    return window.__emptyFrames;
  });
}

describe('the page follows the library live', () => {
  let browser;
  let demo;

  before(async () => {
    browser = await launchBrowser();
    // Changes reach the page through a sync here (live updates would
    // apply them one by one before it).
    demo = await startDemo({ tracks: 3000, env: { PLEXCACHE_LIVE_UPDATES: 'false' } });
    await demo.waitSynced();
  });

  after(async () => {
    await browser?.close();
    await demo?.stop();
  });

  test('a change arriving by the event stream updates the table in place and is told in a toast', async () => {
    const page = await newPage(browser);
    const streams = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/api/events') streams.push(request.url());
    });
    try {
      await page.goto(demo.url);
      await page.waitForSelector('#track-rows [data-rating-key]');
      await page.evaluate(() => {
        window.__sameDocument = true;
      });
      assert.ok(streams.length >= 1, 'the page opened the event stream');

      // Scroll into the list and select a row there.
      await page.evaluate(() => {
        const scroller = document.getElementById('track-scroll');
        const rowH = parseFloat(getComputedStyle(document.documentElement).getPropertyValue('--row-h')) || 40;
        scroller.scrollTop = 400 * rowH;
      });
      const rows = await waitFor(
        async () => {
          const seen = await visibleRows(page);
          return seen.length >= 8 && seen;
        },
        { message: 'loaded rows after scrolling' },
      );
      const scrollTop = await page.evaluate(() => document.getElementById('track-scroll').scrollTop);
      assert.ok(scrollTop > 0);
      const selected = rows[4].key;
      await page.locator(`#track-rows .tr[data-rating-key="${selected}"] .row-check`).click();
      assert.equal(await page.locator('#selection-count').textContent(), '1 selected');

      // On Plex: one visible track goes, another is renamed, three arrive.
      const removed = rows[2].key;
      const renamed = rows[6].key;
      await demo.emulator('/mutations', { method: 'POST', body: { op: 'remove', rating_keys: [Number(removed)] } });
      await demo.emulator('/mutations', {
        method: 'POST',
        body: { op: 'edit', rating_key: Number(renamed), title: 'Renamed While Watching' },
      });
      const added = await demo.emulator('/mutations', { method: 'POST', body: { op: 'add', count: 3 } });
      assert.equal(added.length, 3);
      const before = await demo.status();

      await watchForEmptyTable(page);
      // A refresh fetching only the changes, which it counts one by one.
      await demo.api('/api/library/sync', { method: 'POST' });
      await waitFor(async () => (await toasts(page)).includes('3 tracks added, 1 changed, 1 removed'), {
        timeout: 30000,
        message: 'the toast "3 tracks added, 1 changed, 1 removed"',
      });

      // The visible rows follow: the removed one drops out, the renamed one
      // shows its new title, in place.
      await waitFor(
        async () => {
          const now = await visibleRows(page);
          const keys = now.map((r) => r.key);
          const renamedRow = now.find((r) => r.key === renamed);
          return !keys.includes(removed) && renamedRow && renamedRow.title === 'Renamed While Watching';
        },
        { timeout: 15000, message: 'the removed row gone and the renamed one retitled' },
      );
      const after = await demo.waitSynced();
      assert.equal(after.track_count, before.track_count + 2);
      const matches = await demo.total('exclude_live=true');
      await page.waitForFunction((text) => document.getElementById('match-count').textContent === text, tracksText(matches));
      await page.waitForFunction(
        (text) => document.getElementById('footer-count').textContent === text,
        tracksText(after.track_count),
      );

      assert.equal(await stopWatching(page), 0, 'the table never showed no rows');
      assert.equal(await page.evaluate(() => document.getElementById('track-scroll').scrollTop), scrollTop, 'same scroll position');
      assert.equal(await page.locator('#selection-count').textContent(), '1 selected', 'the selection is kept');
      assert.equal(
        await page.locator(`#track-rows .tr[data-rating-key="${selected}"] .row-check`).isChecked(),
        true,
        'the selected row is still ticked',
      );
      assert.ok(
        !(await toasts(page)).some((t) => t.startsWith('Library updated')),
        'one toast for the change, not a second one for the sync',
      );
      await screenshot(page, 'live-change.png');
      assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was not reloaded');
      assert.deepEqual(page.errors(), []);
    } finally {
      await page.closeAll();
    }
  });

  test('without EventSource the page still catches up by polling', async () => {
    const page = await newPage(browser);
    const streams = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/api/events') streams.push(request.url());
    });
    await page.addInitScript(() => {
      delete window.EventSource;
    });
    try {
      await page.goto(demo.url);
      await page.waitForSelector('#track-rows [data-rating-key]');
      assert.equal(await page.evaluate(() => typeof window.EventSource), 'undefined');
      const before = await demo.waitSynced();
      await page.waitForFunction(
        (text) => document.getElementById('footer-count').textContent === text,
        tracksText(before.track_count),
      );

      await demo.emulator('/mutations', { method: 'POST', body: { op: 'add', count: 4 } });
      await demo.api('/api/library/sync', { method: 'POST' });
      const after = await demo.waitSynced();
      assert.equal(after.track_count, before.track_count + 4);
      // The idle poll runs every 8 s.
      await page.waitForFunction(
        (text) => document.getElementById('footer-count').textContent === text,
        tracksText(after.track_count),
        { timeout: 20000 },
      );
      const matches = await demo.total('exclude_live=true');
      await page.waitForFunction((text) => document.getElementById('match-count').textContent === text, tracksText(matches));
      assert.deepEqual(streams, [], 'no event stream was opened');
      assert.deepEqual(page.errors(), []);
    } finally {
      await page.closeAll();
    }
  });
});
