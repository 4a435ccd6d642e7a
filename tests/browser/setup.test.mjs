// An empty cache: the first-run page of an unconfigured server and its
// settings dialog (validation by connecting to Plex), and the clear pages
// shown when the first sync cannot succeed (Plex failing or unreachable).

import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  DEMO_TOKEN,
  launchBrowser,
  newPage,
  screenshot,
  startEmulator,
  startServe,
  tracksText,
  waitFor,
} from './harness.mjs';

/** A loopback port nobody listens on (bound, then closed). */
async function closedPort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/** The footer's shown parts joined as on screen ("a · b · c"). */
function footerParts(page) {
  return page.evaluate(() =>
    ['footer-count', 'footer-state', 'refresh', 'error-why', 'plex-offline']
      .map((id) => document.getElementById(id))
      .filter((el) => !el.hidden && el.textContent.trim())
      .map((el) => el.textContent.trim()),
  );
}

describe('empty cache', () => {
  let browser;
  let emulator;
  const servers = [];

  before(async () => {
    browser = await launchBrowser();
    emulator = await startEmulator({ tracks: 3000 });
  });

  after(async () => {
    await browser?.close();
    for (const server of servers) await server.stop();
    await emulator?.stop();
  });

  test('first run: connect to Plex from the settings dialog, which checks URL and token', async () => {
    const app = await startServe();
    servers.push(app);
    const page = await newPage(browser);
    try {
      await page.goto(app.url);
      await page.waitForSelector('#first-run:not([hidden])');
      assert.equal(await page.locator('#first-run-title').textContent(), 'Connect to your Plex server');
      assert.deepEqual(await footerParts(page), ['Not connected to Plex']);
      assert.equal(await page.locator('#library').isHidden(), true);
      await screenshot(page, 'first-run.png');

      await page.locator('#first-run-settings').click();
      await page.waitForSelector('#settings-fields:not([hidden])');
      assert.equal(await page.locator('#settings-url').inputValue(), '');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'settings-url', 'focus on the URL field');

      // A URL that is not http(s): an error next to the URL field.
      await page.locator('#settings-url').fill('ftp://x');
      await page.locator('#settings-token').fill(DEMO_TOKEN);
      await page.locator('#settings-save').click();
      await page.waitForSelector('#settings-url-error:not([hidden])');
      const urlError = (await page.locator('#settings-url-error').textContent()).trim();
      assert.ok(urlError.length > 0, 'the URL error says something');
      assert.match(urlError, /http/i, `the URL error says what is allowed: ${urlError}`);
      assert.equal(await page.locator('#settings-url').getAttribute('aria-invalid'), 'true');
      assert.match(await page.locator('#settings-url').getAttribute('aria-describedby'), /settings-url-error/);
      assert.equal(await page.locator('#settings-token-error').isHidden(), true);
      assert.equal(await page.locator('#settings-dialog').getAttribute('open'), '', 'the dialog stays open');

      // Nobody there: still the URL field.
      await page.locator('#settings-url').fill(`http://127.0.0.1:${await closedPort()}`);
      await page.locator('#settings-save').click();
      await page.waitForFunction(() => {
        const el = document.getElementById('settings-url-error');
        return !el.hidden && /unreachable|refused|connect/i.test(el.textContent);
      });

      // The emulator with a wrong token: an error next to the token field.
      await page.locator('#settings-url').fill(emulator.plexUrl);
      await page.locator('#settings-token').fill('not-the-right-token');
      await page.locator('#settings-save').click();
      await page.waitForSelector('#settings-token-error:not([hidden])');
      const tokenError = (await page.locator('#settings-token-error').textContent()).trim();
      assert.match(tokenError, /token/i, `the token error names the token: ${tokenError}`);
      assert.equal(await page.locator('#settings-url-error').isHidden(), true, 'the URL error is gone');
      assert.equal(await page.locator('#settings-token').getAttribute('aria-invalid'), 'true');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'settings-token', 'focus on the wrong field');
      await screenshot(page, 'settings.png');
      assert.equal((await app.status()).configured, false, 'nothing saved');

      // The right token: saved, synced, shown.
      await page.locator('#settings-token').fill(DEMO_TOKEN);
      await page.locator('#settings-save').click();
      await page.waitForSelector('#settings-dialog:not([open])', { state: 'attached', timeout: 10000 });
      const synced = await app.waitSynced();
      assert.ok(synced.track_count >= 3000 * 0.9, `${synced.track_count} tracks`);
      const matches = await app.total('exclude_live=true');
      await page.waitForFunction((text) => document.getElementById('match-count').textContent === text, tracksText(matches), {
        timeout: 15000,
      });
      await page.waitForSelector('#track-rows [data-rating-key]');
      assert.equal(await page.locator('#first-run').isHidden(), true);
      // The rows can show while the server still records the sync's
      // history; the footer follows. Live updates are on by default: once
      // the first sync is in, the server follows Plex and the footer says so.
      let footer = await footerParts(page);
      for (let i = 0; i < 100 && !/^Live · updated /.test(footer[1]); i++) {
        await page.waitForTimeout(100);
        footer = await footerParts(page);
      }
      assert.equal(footer[0], tracksText(synced.track_count));
      assert.match(footer[1], /^Live · updated /);

      // The token never comes back from the server.
      const settings = await app.api('/api/settings');
      assert.equal(settings.token_set, true);
      assert.ok(!JSON.stringify(settings).includes(DEMO_TOKEN), 'no token in GET /api/settings');
      await page.locator('#settings-button').click();
      await page.waitForSelector('#settings-fields:not([hidden])');
      assert.equal(await page.locator('#settings-token').inputValue(), '');
      assert.equal(await page.locator('#settings-url').inputValue(), emulator.plexUrl);
      assert.ok(!(await page.content()).includes(DEMO_TOKEN), 'no token in the page');
      assert.deepEqual(page.errors(), []);
    } finally {
      await page.closeAll();
    }
  });

  test('first sync failing: a page that says why, "Sync failed · Retry", and Retry recovers', async () => {
    const failing = await startEmulator({ tracks: 2000, args: ['--page-fault', 'error500'] });
    try {
      const app = await startServe({ env: { PLEX_URL: failing.plexUrl, PLEX_TOKEN: DEMO_TOKEN } });
      servers.push(app);
      const status = await waitFor(
        async () => {
          const s = await app.status();
          return !s.is_syncing && s.error && s;
        },
        { timeout: 20000, message: 'the first sync to fail' },
      );
      assert.equal(status.track_count, 0);
      assert.equal(status.error_kind, 'server_error');

      const page = await newPage(browser);
      try {
        await page.goto(app.url);
        await page.waitForSelector('#error-screen:not([hidden])');
        assert.equal(await page.locator('#error-title').textContent(), 'Plex reported an error');
        assert.equal(await page.locator('#error-message').textContent(), status.error);
        assert.ok((await page.locator('#error-help').textContent()).length > 20, 'it says what to do');
        assert.deepEqual(await footerParts(page), ['Sync failed', 'Retry', 'Why?']);
        await screenshot(page, 'error-screen.png');

        // Plex is fine again: Retry syncs and the library appears.
        await failing.setFaults({});
        await page.locator('#retry').click();
        await page.waitForSelector('#track-rows [data-rating-key]', { timeout: 20000 });
        const synced = await app.waitSynced();
        await page.waitForFunction(
          (text) => document.getElementById('footer-count').textContent === text,
          tracksText(synced.track_count),
        );
        assert.equal(await page.locator('#error-screen').isHidden(), true);
        assert.deepEqual(page.errors(), []);
      } finally {
        await page.closeAll();
      }
    } finally {
      await failing.stop();
    }
  });

  test('first sync with Plex unreachable: the page says so', async () => {
    const app = await startServe({
      env: { PLEX_URL: `http://127.0.0.1:${await closedPort()}`, PLEX_TOKEN: DEMO_TOKEN, PLEXCACHE_RETRIES: '0' },
    });
    servers.push(app);
    await waitFor(
      async () => {
        const s = await app.status();
        return !s.is_syncing && s.error && s.plex_connected === false && s;
      },
      { timeout: 20000, message: 'the first sync to fail and the probe to see Plex down' },
    );
    const page = await newPage(browser);
    try {
      await page.goto(app.url);
      await page.waitForSelector('#error-screen:not([hidden])');
      assert.equal(await page.locator('#error-title').textContent(), 'Can’t reach your Plex server');
      assert.match(await page.locator('#error-message').textContent(), /127\.0\.0\.1/);
      const footer = await footerParts(page);
      assert.deepEqual(footer, ['Sync failed', 'Retry', 'Why?', 'Plex offline']);
      assert.deepEqual(page.errors(), []);
    } finally {
      await page.closeAll();
    }
  });
});
