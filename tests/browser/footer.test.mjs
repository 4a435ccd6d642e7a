// The footer's states (story 4) and the manual refresh (story 3): synced,
// syncing with a percentage, a failed sync with its cause, Plex offline, and
// new tracks showing up after a Refresh without a reload.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, newPage, screenshot, startDemo, tracksText, waitFor } from './harness.mjs';

/** The footer as shown: each part's text, or null when hidden. */
function readFooter(page) {
  return page.evaluate(() => {
    const text = (id) => {
      const el = document.getElementById(id);
      return el.hidden ? null : el.textContent.trim();
    };
    return {
      count: text('footer-count'),
      state: text('footer-state'),
      action: text('refresh'),
      why: text('error-why'),
      offline: text('plex-offline'),
      progress: !document.getElementById('footer-progress').hidden,
      detail: document.getElementById('error-detail').hidden ? null : text('error-detail-text'),
    };
  });
}

/** Waits until the footer satisfies `check` (run in the test, polled). */
async function waitFooter(page, check, message, timeout = 15000) {
  return waitFor(
    async () => {
      const footer = await readFooter(page);
      return check(footer) && footer;
    },
    { timeout, interval: 50, message: `footer: ${message}` },
  );
}

describe('footer status and manual refresh', () => {
  let browser;
  let demo;
  let page;

  before(async () => {
    browser = await launchBrowser();
    // The footer's manual states: no live updates (they would take the
    // changes in before the refresh the tests click).
    demo = await startDemo({ tracks: 20000, env: { PLEXCACHE_LIVE_UPDATES: 'false' } });
    await demo.waitSynced();
    page = await newPage(browser);
    await page.goto(demo.url);
    await page.waitForSelector('#track-rows [data-rating-key]');
    await page.evaluate(() => {
      window.__sameDocument = true;
    });
  });

  after(async () => {
    await page?.closeAll();
    await browser?.close();
    await demo?.stop();
  });

  test('synced: "N tracks · Synced … · Refresh"', async () => {
    const status = await demo.status();
    const footer = await readFooter(page);
    assert.equal(footer.count, tracksText(status.track_count));
    assert.match(footer.state, /^Synced (just now|\d+ (minute|hour|day)s? ago)$/);
    assert.equal(footer.action, 'Refresh');
    assert.equal(footer.why, null);
    assert.equal(footer.offline, null);
    assert.equal(footer.progress, false);
    const line = await page.locator('#footer-status').innerText();
    assert.match(line.replace(/\s+/g, ' '), /^[\d,]+ tracks · Synced .+ Refresh$/);
  });

  test('syncing: Refresh shows "Syncing… N%" while the page keeps working, then the new tracks appear', async () => {
    const before = await demo.status();
    const matchesBefore = await demo.total('exclude_live=true');
    // Slow answers make the background sync last a few seconds; a server
    // ignoring delta filters makes the refresh a full sync.
    await demo.setFaults({ item_latency_us: 250, ignore_delta_filters: true });
    const added = await demo.emulator('/mutations', { method: 'POST', body: { op: 'add', count: 50 } });
    assert.equal(added.length, 50);

    await page.locator('#refresh').click();
    const syncing = await waitFooter(page, (f) => /^Syncing… \d{1,3}%$/.test(f.state ?? ''), 'Syncing… N%');
    assert.equal(syncing.progress, true, 'the footer bar is shown');
    assert.equal(syncing.action, null, 'no Refresh while syncing');
    assert.equal(syncing.count, tracksText(before.track_count), 'the old count is shown meanwhile');

    // The old library stays usable: no modal, and a filter still answers.
    assert.equal(await page.locator('#sync-modal[open]').count(), 0);
    const percents = [];
    let shot = null;
    await page.locator('[data-decade]').first().click();
    const decade = await page.locator('[data-decade]').first().getAttribute('data-decade');
    const decadeTotal = await demo.total(`decades=${decade}&exclude_live=true`);
    await page.waitForFunction((text) => document.getElementById('match-count').textContent === text, tracksText(decadeTotal));
    await page.locator('[data-decade]').first().click();

    // The percentage moves while the sync runs.
    await waitFor(
      async () => {
        const f = await readFooter(page);
        const m = /^Syncing… (\d+)%$/.exec(f.state ?? '');
        if (m && percents.at(-1) !== Number(m[1])) {
          percents.push(Number(m[1]));
          if (!shot && Number(m[1]) >= 20) shot = await screenshot(page, 'footer-syncing.png');
        }
        return !f.state?.startsWith('Syncing');
      },
      { timeout: 30000, interval: 50, message: 'the end of the sync' },
    );
    assert.ok(percents.length >= 2, `percentages seen: ${percents}`);

    // The new tracks, without a reload.
    await demo.setFaults({});
    const afterSync = await demo.waitSynced();
    assert.equal(afterSync.track_count, before.track_count + 50);
    const footer = await waitFooter(page, (f) => f.count === tracksText(before.track_count + 50), 'the count grown by 50');
    assert.match(footer.state, /^Synced /);
    const matchesAfter = await demo.total('exclude_live=true');
    assert.ok(matchesAfter > matchesBefore, 'the new tracks match the default filter');
    await page.waitForFunction((text) => document.getElementById('match-count').textContent === text, tracksText(matchesAfter));
    // The newest track by date added is one of those added.
    const newest = await demo.api(`/api/library/tracks?sort=added&order=desc&limit=1&exclude_live=false`);
    assert.ok(added.map(String).includes(newest.tracks[0].rating_key), 'the newest track is one of those added');
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was not reloaded');
    assert.deepEqual(page.errors(), []);
  });

  test('failed: "Sync failed · Retry", and Why shows the cause', async () => {
    const before = await demo.status();
    const matches = await demo.total('exclude_live=true');
    await demo.setFaults({ page_fault: { kind: 'error500', after: 0, times: 0 } });
    await page.locator('#refresh').click();
    const failed = await waitFooter(page, (f) => f.state === 'Sync failed', 'Sync failed', 30000);
    assert.equal(failed.action, 'Retry');
    assert.equal(failed.why, 'Why?');
    assert.equal(failed.detail, null, 'the cause is one click away, not shown yet');
    assert.equal(failed.count, tracksText(before.track_count), 'the old library is still counted');

    const status = await demo.status();
    assert.ok(status.error, 'the status has the error');
    await page.locator('#error-why').click();
    await page.waitForSelector('#error-detail:not([hidden])');
    const detail = (await page.locator('#error-detail-text').textContent()).trim();
    assert.equal(detail, status.error);
    assert.match(detail, /500|server error/i, `the cause names the failure: ${detail}`);
    assert.ok(await page.locator('#error-detail-text').isVisible());
    assert.equal(await page.locator('#error-why').getAttribute('aria-expanded'), 'true');
    await screenshot(page, 'footer-failed.png');

    // The old library is still served and shown.
    assert.equal(await page.locator('#match-count').textContent(), tracksText(matches));
    assert.ok((await page.locator('#track-rows .tr[data-rating-key]:not([hidden])').count()) > 0);

    // Escape closes the cause; Retry (with Plex healthy again) recovers.
    await page.keyboard.press('Escape');
    await page.waitForSelector('#error-detail[hidden]', { state: 'attached' });
    await demo.setFaults({});
    await page.locator('#refresh').click();
    const recovered = await waitFooter(page, (f) => /^Synced /.test(f.state ?? ''), 'Synced again', 30000);
    assert.equal(recovered.action, 'Refresh');
    assert.equal(recovered.why, null);
    assert.deepEqual(page.errors(), []);
  });

  test('Plex offline: the badge shows while the cache is served, and goes when Plex is back', async () => {
    const matches = await demo.total('exclude_live=true');
    // Every Plex request gets 401 from now on: the probe fails.
    await demo.setFaults({ unauthorized_after: 0 });
    await waitFor(async () => (await demo.status()).plex_connected === false, {
      timeout: 10000,
      message: 'the probe to notice',
    });
    // The page learns it at its next status poll (every 8 s when idle).
    const offline = await waitFooter(page, (f) => f.offline === 'Plex offline', 'Plex offline', 15000);
    assert.match(offline.state, /^Synced /, 'the cache is still shown as synced');
    const title = await page.locator('#plex-offline').getAttribute('title');
    assert.ok(title && title.length > 0, 'the badge says why in its title');
    await screenshot(page, 'footer-offline.png');
    // Reading still works.
    await page.locator('#search').fill('a');
    const withA = await demo.total('q=a&exclude_live=true');
    await page.waitForFunction((text) => document.getElementById('match-count').textContent === text, tracksText(withA));
    await page.locator('#search').fill('');
    await page.waitForFunction((text) => document.getElementById('match-count').textContent === text, tracksText(matches));

    await demo.setFaults({});
    await waitFor(async () => (await demo.status()).plex_connected === true, {
      timeout: 10000,
      message: 'the probe to see Plex again',
    });
    await waitFooter(page, (f) => f.offline === null, 'no offline badge', 15000);
    assert.deepEqual(page.errors(), []);
  });
});
