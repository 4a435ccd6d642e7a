// The library view on a synced 20,000-track cache: every filter against the
// API's own count, saving playlists to (emulated) Plex, and the phone layout.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, newPage, screenshot, startDemo, tracksText, waitForMatches } from './harness.mjs';

/** The rating key of the first row for a query, sorted as the page sorts by default. */
async function firstKey(demo, query) {
  const answer = await demo.api(`/api/library/tracks?${query}&sort=artist&order=asc&limit=1`);
  return answer.tracks[0]?.rating_key ?? null;
}

/** Every rating key matching a query. */
async function allKeys(demo, query) {
  const keys = [];
  for (let offset = 0; ; offset += 1000) {
    const answer = await demo.api(`/api/library/tracks?${query}&limit=1000&offset=${offset}`);
    keys.push(...answer.tracks.map((t) => t.rating_key));
    if (keys.length >= answer.total || answer.tracks.length === 0) return keys;
  }
}

/**
 * Does `action` on the page, checks that the page then asked for tracks with
 * exactly the filter `query`, and that it shows the API's count and first row
 * for it.
 */
async function expectFilter(page, demo, query, action) {
  const expected = new URLSearchParams(query);
  const asked = page.waitForRequest((request) => {
    const url = new URL(request.url());
    if (url.pathname !== '/api/library/tracks' || url.searchParams.get('offset') !== '0') return false;
    for (const [key, value] of expected) if (url.searchParams.get(key) !== value) return false;
    for (const key of ['genres', 'decades', 'min_rating', 'q']) {
      if (url.searchParams.has(key) && !expected.has(key)) return false;
    }
    return true;
  });
  await action();
  await asked;
  const total = await demo.total(query);
  await waitForMatches(page, total, await firstKey(demo, query));
  return total;
}

describe('library view', () => {
  let browser;
  let demo;
  let stats;

  before(async () => {
    browser = await launchBrowser();
    demo = await startDemo({ tracks: 20000 });
    await demo.waitSynced();
    stats = await demo.api('/api/library/stats');
  });

  after(async () => {
    await browser?.close();
    await demo?.stop();
  });

  test('every filter changes the match count to what the API counts', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(demo.url);
      const all = await demo.total('exclude_live=true');
      await waitForMatches(page, all, await firstKey(demo, 'exclude_live=true'));
      await page.waitForSelector('[data-genre]');
      await screenshot(page, 'library.png');

      // Chips carry the library's counts.
      const top = stats.genres[0];
      assert.equal(await page.locator(`[data-genre="${top.name}"] .chip-count`).textContent(), top.count.toLocaleString('en-US'));
      assert.equal(await page.locator('[data-decade]').count(), stats.decades.length);

      const counts = [all];
      // Exclude live, off: live recordings count too.
      counts.push(
        await expectFilter(page, demo, 'exclude_live=false', () => page.locator('#exclude-live').uncheck()),
      );
      // A genre chip (not the biggest one).
      const genre = stats.genres[3].name;
      const g = encodeURIComponent(genre);
      counts.push(
        await expectFilter(page, demo, `genres=${g}&exclude_live=false`, () =>
          page.locator(`[data-genre="${genre}"]`).click(),
        ),
      );
      assert.equal(await page.locator(`[data-genre="${genre}"]`).getAttribute('aria-pressed'), 'true');
      // A decade chip.
      const decade = stats.decades[2].decade;
      counts.push(
        await expectFilter(page, demo, `genres=${g}&decades=${decade}&exclude_live=false`, () =>
          page.locator(`[data-decade="${decade}"]`).click(),
        ),
      );
      // A second decade: any of them.
      const decade2 = stats.decades[5].decade;
      counts.push(
        await expectFilter(page, demo, `genres=${g}&decades=${decade},${decade2}&exclude_live=false`, () =>
          page.locator(`[data-decade="${decade2}"]`).click(),
        ),
      );
      // Minimum rating: three stars.
      counts.push(
        await expectFilter(page, demo, `genres=${g}&decades=${decade},${decade2}&min_rating=6&exclude_live=false`, () =>
          page.locator('#min-rating [data-value="6"]').click(),
        ),
      );
      assert.equal(await page.locator('#min-rating').getAttribute('data-value'), '6');
      // Exclude live, back on.
      counts.push(
        await expectFilter(page, demo, `genres=${g}&decades=${decade},${decade2}&min_rating=6&exclude_live=true`, () =>
          page.locator('#exclude-live').check(),
        ),
      );
      for (let i = 1; i < counts.length; i++) assert.notEqual(counts[i], counts[i - 1], `step ${i} changed the count: ${counts}`);
      assert.ok(counts.at(-1) > 0, 'something still matches');
      assert.equal(await page.locator('#filters-active-count').textContent(), '4');

      // The search box: the first word of the first row's artist.
      const artist = (await page.locator('#track-rows .tr[aria-rowindex="2"] .col-artist').textContent()).trim();
      const word = artist.split(/\s+/).find((w) => /^[\p{L}\p{N}]{3,}$/u.test(w)) || artist.split(/\s+/)[0];
      const withQ = `genres=${g}&decades=${decade},${decade2}&min_rating=6&exclude_live=true&q=${encodeURIComponent(word)}`;
      const found = await expectFilter(page, demo, withQ, () => page.locator('#search').fill(word));
      assert.ok(found > 0 && found <= counts.at(-1), `search "${word}" found ${found}`);

      // Search alone, case and accents folded.
      await page.locator('#reset-filters').click();
      await waitForMatches(page, all, await firstKey(demo, 'exclude_live=true'));
      assert.equal(await page.locator('#search').inputValue(), '');
      const searched = await expectFilter(page, demo, 'exclude_live=true&q=BEYONCE', () =>
        page.locator('#search').fill('BEYONCE'),
      );
      assert.ok(searched > 0, 'the accented artist is found without its accent');
      const rowArtist = await page.locator('#track-rows .tr[aria-rowindex="2"]').textContent();
      assert.match(rowArtist, /Beyoncé/i);

      // A search matching nothing says so.
      await expectFilter(page, demo, 'exclude_live=true&q=zzqqxxnothing', () => page.locator('#search').fill('zzqqxxnothing'));
      assert.equal(await page.locator('#match-count').textContent(), '0 tracks');
      await page.waitForSelector('#table-empty:not([hidden])');
      assert.equal(await page.locator('#table-empty-title').textContent(), 'No tracks match');
      assert.deepEqual(page.errors(), []);
    } finally {
      await page.closeAll();
    }
  });

  test('saving three selected rows, then a random sample of 20, as Plex playlists', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(demo.url);
      await page.waitForSelector('#track-rows [data-rating-key]');

      // Three rows: a checkbox, a click on a row, a shift-click on a checkbox.
      const row = (i) => page.locator(`#track-rows .tr[aria-rowindex="${i + 2}"]`);
      await row(0).locator('.row-check').check();
      await row(2).locator('.col-album').click();
      await row(3).locator('.row-check').click({ modifiers: ['Shift'] });
      assert.equal(await page.locator('#selection-count').textContent(), '3 selected');
      const chosen = await Promise.all([0, 2, 3].map((i) => row(i).getAttribute('data-rating-key')));

      await page.locator('#save-playlist').click();
      await page.waitForSelector('#playlist-dialog[open]');
      assert.equal(await page.locator('#playlist-mode-selected').isChecked(), true);
      assert.equal(await page.locator('#playlist-selected-count').textContent(), '3');
      await page.locator('#playlist-title').fill('Three picks');
      await page.locator('#playlist-submit').click();
      await page.waitForSelector('#playlist-result:not([hidden])');
      const result = await page.locator('#playlist-result').textContent();
      assert.equal(result, 'Added 3 tracks to "Three picks".');
      assert.equal(await page.locator('#playlist-result').getAttribute('class'), 'result');
      await screenshot(page, 'playlist-result.png');

      const playlists = await demo.emulator('/playlists');
      const three = playlists.filter((p) => p.title === 'Three picks');
      assert.equal(three.length, 1, `one playlist "Three picks": ${JSON.stringify(playlists)}`);
      assert.deepEqual(three[0].items.map(String).sort(), chosen.slice().sort());
      await page.locator('#playlist-cancel').click();
      await page.waitForSelector('#playlist-dialog:not([open])', { state: 'attached' });

      // A random sample of 20 among the tracks of a genre and a decade.
      const genre = stats.genres[1].name;
      const decade = stats.decades[3].decade;
      const query = `genres=${encodeURIComponent(genre)}&decades=${decade}&exclude_live=true`;
      await page.locator('#clear-selection').click();
      await page.locator(`[data-genre="${genre}"]`).click();
      await page.locator(`[data-decade="${decade}"]`).click();
      const matching = await demo.total(query);
      assert.ok(matching > 20, `${matching} tracks to sample from`);
      await waitForMatches(page, matching, await firstKey(demo, query));

      await page.locator('#save-playlist').click();
      await page.waitForSelector('#playlist-dialog[open]');
      assert.equal(await page.locator('#playlist-mode-selected').isDisabled(), true, 'nothing selected');
      assert.equal(await page.locator('#playlist-mode-sample').isChecked(), true);
      assert.match(await page.locator('#playlist-filter-summary').textContent(), new RegExp(`^${tracksText(matching)} match: `));
      await page.locator('#playlist-sample-size').fill('20');
      await page.locator('#playlist-title').fill('Sample of 20');
      await page.locator('#playlist-submit').click();
      await page.waitForFunction(() => {
        const box = document.getElementById('playlist-result');
        return !box.hidden && box.textContent.startsWith('Added');
      });
      assert.equal(await page.locator('#playlist-result').textContent(), 'Added 20 tracks to "Sample of 20".');

      const sample = (await demo.emulator('/playlists')).find((p) => p.title === 'Sample of 20');
      assert.ok(sample, 'the sample playlist is in Plex');
      const items = sample.items.map(String);
      assert.equal(items.length, 20);
      assert.equal(new Set(items).size, 20, 'no track twice');
      const allowed = new Set(await allKeys(demo, query));
      for (const key of items) assert.ok(allowed.has(key), `track ${key} matches the filter`);
      assert.deepEqual(page.errors(), []);
    } finally {
      await page.closeAll();
    }
  });

  test('phone width: the page fits, filters are reachable, no horizontal scroll', async () => {
    const page = await newPage(browser, {
      viewport: { width: 375, height: 812 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    try {
      await page.goto(demo.url);
      await page.waitForSelector('#track-rows [data-rating-key]');
      const all = await demo.total('exclude_live=true');
      await waitForMatches(page, all, null);
      const fits = () =>
        page.evaluate(() => ({
          scroll: document.documentElement.scrollWidth,
          client: document.documentElement.clientWidth,
          body: document.body.scrollWidth,
        }));
      let size = await fits();
      assert.ok(size.scroll <= size.client && size.body <= size.client, `no horizontal scroll: ${JSON.stringify(size)}`);
      for (const id of ['#search', '#match-count', '#save-playlist', '#filters-toggle', '#footer-status']) {
        const box = await page.locator(id).boundingBox();
        assert.ok(box && box.width > 0, `${id} is shown`);
        assert.ok(box.x >= 0 && box.x + box.width <= 375 + 0.5, `${id} fits the width: ${JSON.stringify(box)}`);
      }
      assert.ok((await page.locator('#track-rows .tr[data-rating-key]:not([hidden])').count()) > 5);
      await screenshot(page, 'phone.png');

      // The filters open from their toggle, and a chip works.
      await page.locator('#filters-toggle').tap();
      assert.equal(await page.locator('#filters-toggle').getAttribute('aria-expanded'), 'true');
      const decade = stats.decades[1].decade;
      const chip = page.locator(`[data-decade="${decade}"]`);
      await chip.scrollIntoViewIfNeeded();
      assert.ok(await chip.isVisible(), 'the decade chip is visible');
      const query = `decades=${decade}&exclude_live=true`;
      await expectFilter(page, demo, query, () => chip.tap());
      const genreChip = page.locator('[data-genre]').first();
      await genreChip.scrollIntoViewIfNeeded();
      assert.ok(await genreChip.isVisible(), 'a genre chip is visible');
      assert.ok(await page.locator('#min-rating [data-value="8"]').isVisible(), 'the rating stars are visible');
      assert.ok(await page.locator('#exclude-live').isVisible(), 'the live switch is visible');
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.locator('#filter-panel').evaluate((el) => el.scrollTo(0, 0));
      await screenshot(page, 'phone-filters.png');
      size = await fits();
      assert.ok(size.scroll <= size.client && size.body <= size.client, `no horizontal scroll: ${JSON.stringify(size)}`);

      // The settings dialog fits too.
      await page.locator('#settings-button').tap();
      await page.waitForSelector('#settings-fields:not([hidden])');
      const dialog = await page.locator('#settings-dialog').boundingBox();
      assert.ok(dialog.x >= 0 && dialog.x + dialog.width <= 375 + 0.5, `settings fit: ${JSON.stringify(dialog)}`);
      assert.deepEqual(page.errors(), []);
    } finally {
      await page.closeAll();
    }
  });
});
