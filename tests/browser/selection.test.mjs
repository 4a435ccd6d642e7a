// Selecting rows and saving them: shift-click ranges from anywhere on a row,
// a saved playlist in the table's order, a filter change that clears the
// selection (nothing hidden is ever saved), and missing values shown as "—".

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, newPage, startDemo, waitFor } from './harness.mjs';

/** The row at list position `i` (0-based). */
const rowAt = (page, i) => page.locator(`#track-rows .tr[aria-rowindex="${i + 2}"]`);

/** Every rating key of a query, in the API's order. */
async function orderedKeys(demo, query) {
  const keys = [];
  for (let offset = 0; ; offset += 1000) {
    const answer = await demo.api(`/api/library/tracks?${query}&limit=1000&offset=${offset}`);
    keys.push(...answer.tracks.map((t) => t.rating_key));
    if (keys.length >= answer.total || answer.tracks.length === 0) return keys;
  }
}

/** Saves the selection under `title` and answers the playlist's items as Plex has them. */
async function saveSelection(page, demo, title) {
  await page.locator('#save-playlist').click();
  await page.waitForSelector('#playlist-dialog[open]');
  assert.equal(await page.locator('#playlist-mode-selected').isChecked(), true);
  await page.locator('#playlist-title').fill(title);
  await page.locator('#playlist-submit').click();
  await page.waitForFunction(() => {
    const box = document.getElementById('playlist-result');
    return !box.hidden && box.textContent.startsWith('Added');
  });
  await page.locator('#playlist-cancel').click();
  await page.waitForSelector('#playlist-dialog:not([open])', { state: 'attached' });
  const found = (await demo.emulator('/playlists')).filter((p) => p.title === title);
  assert.equal(found.length, 1, `one playlist "${title}"`);
  return found[0].items.map(String);
}

/** A track with `field` missing (null), or null when the library has none. */
async function trackMissing(demo, sort, field) {
  for (const order of ['asc', 'desc']) {
    const first = await demo.api(`/api/library/tracks?sort=${sort}&order=${order}&limit=1&exclude_live=false`);
    if (first.tracks[0] && first.tracks[0][field] == null) return first.tracks[0];
    const last = await demo.api(
      `/api/library/tracks?sort=${sort}&order=${order}&limit=1&offset=${first.total - 1}&exclude_live=false`,
    );
    if (last.tracks[0] && last.tracks[0][field] == null) return last.tracks[0];
  }
  return null;
}

describe('selection', () => {
  let browser;
  let demo;

  before(async () => {
    browser = await launchBrowser();
    demo = await startDemo({ tracks: 5000 });
    await demo.waitSynced();
  });

  after(async () => {
    await browser?.close();
    await demo?.stop();
  });

  test('shift-click on a title selects the range, as on the checkboxes, with no text selection', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(demo.url);
      await page.waitForSelector('#track-rows [data-rating-key]');
      // A plain click on a title selects its row; a shift-click on another
      // title extends the selection to it.
      await rowAt(page, 1).locator('.col-title .title-main').click();
      assert.equal(await page.locator('#selection-count').textContent(), '1 selected');
      await rowAt(page, 4).locator('.col-title .title-main').click({ modifiers: ['Shift'] });
      assert.equal(await page.locator('#selection-count').textContent(), '4 selected');
      assert.equal(await page.evaluate(() => String(window.getSelection())), '', 'no text is selected');
      for (const i of [1, 2, 3, 4]) {
        assert.equal(await rowAt(page, i).locator('.row-check').isChecked(), true, `row ${i} is ticked`);
      }
      assert.equal(await rowAt(page, 0).locator('.row-check').isChecked(), false);
      assert.equal(await rowAt(page, 5).locator('.row-check').isChecked(), false);

      // Shift-click on another cell unselects the range back to row 3.
      await rowAt(page, 3).locator('.col-album').click({ modifiers: ['Shift'] });
      assert.equal(await page.locator('#selection-count').textContent(), '2 selected');
      assert.equal(await page.evaluate(() => String(window.getSelection())), '');
      assert.deepEqual(page.errors(), []);
    } finally {
      await page.closeAll();
    }
  });

  test('a saved selection follows the table order, also after a sort, not the order rows were ticked', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(demo.url);
      await page.waitForSelector('#track-rows [data-rating-key]');
      // Rows 6, 2 and 4 (1-based), ticked in that order.
      for (const i of [5, 1, 3]) await rowAt(page, i).locator('.row-check').check();
      const keys = await Promise.all([1, 3, 5].map((i) => rowAt(page, i).getAttribute('data-rating-key')));
      assert.deepEqual(await saveSelection(page, demo, 'Table order'), keys);

      // By title, Z to A: the same three rows, in the order the list now
      // shows them, most of them far from the loaded pages.
      const title = page.locator('.sort-button[data-sort="title"]');
      await title.click();
      const asked = page.waitForRequest((r) => {
        const params = new URL(r.url()).searchParams;
        return params.get('sort') === 'title' && params.get('order') === 'desc';
      });
      await title.click();
      await asked;
      await page.waitForFunction(() => !document.getElementById('match-count').classList.contains('loading'));
      assert.equal(await page.locator('#selection-count').textContent(), '3 selected', 'a sort keeps the selection');
      const byTitle = await orderedKeys(demo, 'exclude_live=true&sort=title&order=desc');
      const expected = keys.slice().sort((a, b) => byTitle.indexOf(a) - byTitle.indexOf(b));
      assert.notDeepEqual(expected, keys, 'the title order differs from the artist order');
      assert.deepEqual(await saveSelection(page, demo, 'Title order'), expected);
      assert.deepEqual(page.errors(), []);
    } finally {
      await page.closeAll();
    }
  });

  test('a filter change clears the selection, so nothing the list hides is saved', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(demo.url);
      await page.waitForSelector('#track-rows [data-rating-key]');
      await page.waitForSelector('[data-decade]');
      // Two rows, then a decade none of them is from.
      const years = [];
      for (const i of [0, 1]) {
        await rowAt(page, i).locator('.row-check').check();
        years.push(Number((await rowAt(page, i).locator('.col-year').textContent()).trim()));
      }
      assert.equal(await page.locator('#selection-count').textContent(), '2 selected');
      const decades = await page.locator('[data-decade]').evaluateAll((chips) => chips.map((c) => c.dataset.decade));
      const decadeOf = (y) => Math.floor(y / 10) * 10 + 's';
      const other = decades.find((d) => !years.some((y) => decadeOf(y) === d));
      assert.ok(other, `a decade other than those of ${years}`);
      await page.locator(`[data-decade="${other}"]`).click();

      await page.waitForFunction(() => document.getElementById('selection-count').textContent === '');
      assert.equal(await page.locator('#clear-selection').isHidden(), true);
      await page.waitForSelector('.toast', { state: 'attached' });
      assert.match(await page.locator('#toasts').textContent(), /Selection cleared \(2 tracks\)/);

      // The dialog offers only what the list shows: a sample of it, named for it.
      await page.locator('#save-playlist').click();
      await page.waitForSelector('#playlist-dialog[open]');
      assert.equal(await page.locator('#playlist-mode-selected').isDisabled(), true);
      assert.equal(await page.locator('#playlist-mode-sample').isChecked(), true);
      assert.equal(await page.locator('#playlist-title').inputValue(), other);
      assert.deepEqual(page.errors(), []);
    } finally {
      await page.closeAll();
    }
  });

  test('missing values read "—" in every row, with a name for screen readers', async () => {
    const page = await newPage(browser);
    try {
      const noYear = await trackMissing(demo, 'year', 'year');
      assert.ok(noYear, 'the demo library has a track without a year');
      const noLength = await trackMissing(demo, 'duration', 'duration_ms');
      await page.goto(demo.url);
      await page.waitForSelector('#track-rows [data-rating-key]');
      await page.locator('#exclude-live').uncheck();

      const check = async (track, column, label) => {
        const words = `${track.title} ${track.artist ?? ''}`.replace(/[^\p{L}\p{N}\s]/gu, ' ').trim();
        await page.locator('#search').fill(words);
        const row = page.locator(`#track-rows .tr[data-rating-key="${track.rating_key}"]`);
        await row.waitFor({ timeout: 10000 });
        const cell = row.locator(column);
        assert.equal((await cell.textContent()).trim(), '—', `${column} of ${track.rating_key}`);
        assert.equal(await cell.getAttribute('aria-label'), label);
      };
      await check(noYear, '.col-year', 'No year');
      if (noLength) await check(noLength, '.col-duration', 'Unknown length');

      // No empty year or time cell anywhere in a loaded list.
      await page.locator('#search').fill('');
      await waitFor(
        async () => (await page.locator('#track-rows .tr[data-rating-key]:not([hidden])').count()) > 5,
        { message: 'rows' },
      );
      const empties = await page.locator('#track-rows .tr[data-rating-key]:not([hidden])').evaluateAll((rows) =>
        rows.filter((r) => !r.querySelector('.col-year').textContent || !r.querySelector('.col-duration').textContent).length,
      );
      assert.equal(empties, 0);
      assert.deepEqual(page.errors(), []);
    } finally {
      await page.closeAll();
    }
  });
});
