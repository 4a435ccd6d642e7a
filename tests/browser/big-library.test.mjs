// A 100,000-track library: the page loads fast, scrolls to the very last
// row, and answers filter changes fast. The figures are printed so that
// they show in CI logs.
//
// Budgets (ours; story 1 allows 2 s and 1 s): page load to first rows
// < 500 ms and filter change to updated count and rows < 100 ms.

import assert from 'node:assert/strict';
import { loadavg } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, newPage, startDemo, tracksText, waitForMatches } from './harness.mjs';

const TRACKS = 100000;
const LOAD_BUDGET_MS = 500;
const FILTER_BUDGET_MS = 100;
// A shared machine can be busy for a moment: each figure is the median of a
// round, and up to ROUNDS rounds are run until one is within budget. Every
// round is printed; a page that is slow every time still fails.
const ROUNDS = 3;

function median(values) {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

// Records, from navigation start, when the first track row appears.
function recordFirstRow() {
  const observer = new MutationObserver(() => {
    if (document.querySelector('[data-rating-key]')) {
      window.__firstRowAt = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ['data-rating-key'] });
}

/**
 * Clicks `step.selector` and times, inside the page, from the click to the
 * frame where the count and the first row are those the API gives for
 * `step.query`; also answers how long the API took for the page's request.
 */
async function timeStep(page, step) {
  const total = await demo.total(step.query);
  const first = await demo.api(`/api/library/tracks?${step.query}&sort=artist&order=asc&limit=1`);
  const key = first.tracks[0]?.rating_key ?? null;
  const answered = page.waitForResponse((r) => {
    const url = new URL(r.url());
    return url.pathname === '/api/library/tracks' && url.searchParams.get('offset') === '0';
  });
  const elapsed = await page.evaluate(
    ({ selector, text, key }) =>
      new Promise((resolve, reject) => {
        const done = () => {
          const count = document.getElementById('match-count');
          if (count.classList.contains('loading') || count.textContent !== text) return false;
          const row = document.querySelector('#track-rows .tr[aria-rowindex="2"]:not([hidden])');
          return key === null ? !row || !row.dataset.ratingKey : !!row && row.dataset.ratingKey === key;
        };
        const started = performance.now();
        const timer = setTimeout(() => reject(new Error(`no update for ${selector} within 5 s`)), 5000);
        const check = () => {
          // The old rows stay until the new ones come: no empty placeholder rows.
          if (document.querySelector('#track-rows .tr[aria-rowindex="2"].skeleton')) {
            clearTimeout(timer);
            reject(new Error(`placeholder rows shown after ${selector}`));
            return;
          }
          if (done()) {
            clearTimeout(timer);
            resolve(performance.now() - started);
          } else {
            requestAnimationFrame(check);
          }
        };
        document.querySelector(selector).click();
        requestAnimationFrame(check);
      }),
    { selector: step.selector, text: tracksText(total), key },
  );
  const timing = (await answered).request().timing();
  return { step: step.name, ms: Math.round(elapsed), server: Math.round(timing.responseStart - timing.requestStart), total };
}

function loadAverage() {
  return loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
}

let demo;

describe('100,000 tracks', () => {
  let browser;

  before(async () => {
    browser = await launchBrowser();
    demo = await startDemo({ tracks: TRACKS });
    await demo.waitSynced(120000);
  });

  after(async () => {
    await browser?.close();
    await demo?.stop();
  });

  test(`page load to first rows under ${LOAD_BUDGET_MS} ms`, async () => {
    const status = await demo.status();
    assert.equal(status.track_count, TRACKS);
    let best = Infinity;
    for (let round = 1; round <= ROUNDS && best >= LOAD_BUDGET_MS; round++) {
      const times = [];
      const answers = [];
      for (let i = 0; i < 5; i++) {
        const page = await newPage(browser);
        try {
          await page.addInitScript(recordFirstRow);
          await page.goto(demo.url, { waitUntil: 'commit' });
          await page.waitForFunction(() => window.__firstRowAt !== undefined, null, { timeout: 10000 });
          const seen = await page.evaluate(() => {
            const request = performance.getEntriesByType('resource').find((e) => e.name.includes('/api/library/tracks'));
            return {
              firstRow: window.__firstRowAt,
              asked: request ? request.requestStart : NaN,
              server: request ? request.responseStart - request.requestStart : NaN,
            };
          });
          times.push(Math.round(seen.firstRow));
          answers.push(`${Math.round(seen.server)} at ${Math.round(seen.asked)}`);
          assert.deepEqual(page.errors(), []);
        } finally {
          await page.closeAll();
        }
      }
      best = Math.min(best, median(times));
      console.log(
        `page load to first rows, round ${round} (ms, 100k tracks, fresh context each): ${times.join(', ')}; ` +
          `median ${median(times)} (load average ${loadAverage()})`,
      );
      console.log(`  first /api/library/tracks answer (ms, asked at ms): ${answers.join('; ')}`);
      // A page that hangs fails at once, whatever the round.
      assert.ok(Math.max(...times) < LOAD_BUDGET_MS * 6, `slowest load ${Math.max(...times)} ms: ${times}`);
    }
    assert.ok(best < LOAD_BUDGET_MS, `best median of ${ROUNDS} rounds: ${best} ms`);
  });

  test('scrolling to the end shows the last row of the sort', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(demo.url);
      const total = await demo.total('exclude_live=true');
      assert.ok(total > 90000, `${total} non-live tracks`);
      await waitForMatches(page, total, null);
      assert.equal(await page.locator('#track-table').getAttribute('aria-rowcount'), String(total + 1));

      for (const [sortKey, order] of [
        ['artist', 'asc'],
        ['title', 'desc'],
      ]) {
        if (sortKey !== 'artist') {
          // Title: one click sorts ascending, a second descending.
          await page.locator(`.sort-button[data-sort="${sortKey}"]`).click();
          await page.locator(`.sort-button[data-sort="${sortKey}"]`).click();
          assert.equal(
            await page.locator(`.sort-button[data-sort="${sortKey}"]`).evaluate((b) => b.parentElement.getAttribute('aria-sort')),
            'descending',
          );
        }
        const last = await demo.api(
          `/api/library/tracks?exclude_live=true&sort=${sortKey}&order=${order}&offset=${total - 1}&limit=1`,
        );
        const lastKey = last.tracks[0].rating_key;
        const first = await demo.api(`/api/library/tracks?exclude_live=true&sort=${sortKey}&order=${order}&limit=1`);
        await waitForMatches(page, total, first.tracks[0].rating_key);

        // To the bottom, the way a keyboard user does it, then check the row.
        await page.locator('#track-scroll').focus();
        await page.keyboard.press('End');
        const lastRow = page.locator(`#track-rows .tr[aria-rowindex="${total + 1}"]`);
        await page.waitForFunction(
          ({ index, key }) => {
            const row = document.querySelector(`#track-rows .tr[aria-rowindex="${index}"]:not([hidden])`);
            return !!row && row.dataset.ratingKey === key;
          },
          { index: total + 1, key: lastKey },
          { timeout: 10000 },
        );
        assert.equal(await lastRow.getAttribute('data-rating-key'), lastKey);
        // It is really on screen, at the bottom of the scroller.
        const rowBox = await lastRow.boundingBox();
        const scrollBox = await page.locator('#track-scroll').boundingBox();
        assert.ok(rowBox.y >= scrollBox.y && rowBox.y + rowBox.height <= scrollBox.y + scrollBox.height + 1, 'last row visible');
        assert.equal(await lastRow.locator('.title-main').textContent(), last.tracks[0].title || 'Untitled');
        // Back to the top for the next sort.
        await page.keyboard.press('Home');
        await page.waitForFunction(() => document.getElementById('track-scroll').scrollTop === 0);
      }
      assert.deepEqual(page.errors(), []);
    } finally {
      await page.closeAll();
    }
  });

  test(`filter change to updated count and rows under ${FILTER_BUDGET_MS} ms`, async () => {
    const page = await newPage(browser);
    try {
      await page.goto(demo.url);
      const all = await demo.total('exclude_live=true');
      await waitForMatches(page, all, null);
      const stats = await demo.api('/api/library/stats');

      // Each step: the filter query after it, and what the page is to click.
      const genre = stats.genres[0].name;
      const g = encodeURIComponent(genre);
      const decade = stats.decades[3].decade;
      const steps = [
        { name: `genre ${genre}`, selector: `[data-genre="${genre}"]`, query: `genres=${g}&exclude_live=true` },
        { name: `decade ${decade}`, selector: `[data-decade="${decade}"]`, query: `genres=${g}&decades=${decade}&exclude_live=true` },
        { name: 'min rating 4', selector: '#min-rating [data-value="8"]', query: `genres=${g}&decades=${decade}&min_rating=8&exclude_live=true` },
        { name: 'include live', selector: '#exclude-live', query: `genres=${g}&decades=${decade}&min_rating=8&exclude_live=false` },
        { name: 'genre off', selector: `[data-genre="${genre}"]`, query: `decades=${decade}&min_rating=8&exclude_live=false` },
        { name: 'decade off', selector: `[data-decade="${decade}"]`, query: 'min_rating=8&exclude_live=false' },
        { name: 'rating off', selector: '#min-rating [data-value="8"]', query: 'exclude_live=false' },
        { name: 'exclude live', selector: '#exclude-live', query: 'exclude_live=true' },
      ];
      // The steps end where they started, so a round can be run again.
      let best = Infinity;
      for (let round = 1; round <= ROUNDS && best >= FILTER_BUDGET_MS; round++) {
        const times = [];
        for (const step of steps) times.push(await timeStep(page, step));
        const ms = times.map((t) => t.ms);
        best = Math.min(best, median(ms));
        console.log(
          `filter change to updated count and first row, round ${round} (ms, 100k tracks): ` +
            times.map((t) => `${t.step} ${t.ms} (API ${t.server}, ${t.total} tracks)`).join('; '),
        );
        console.log(`  median ${median(ms)} ms, max ${Math.max(...ms)} ms (load average ${loadAverage()})`);
        assert.ok(Math.max(...ms) < FILTER_BUDGET_MS * 20, `slowest ${Math.max(...ms)} ms: ${ms}`);
      }
      assert.ok(best < FILTER_BUDGET_MS, `best median of ${ROUNDS} rounds: ${best} ms`);
      assert.deepEqual(page.errors(), []);
    } finally {
      await page.closeAll();
    }
  });
});
