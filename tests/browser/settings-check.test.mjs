// The settings dialog's connection check: a check that hangs can be
// cancelled (the request is aborted, nothing is saved), and a failed check
// reads as a sentence next to its field, the technical cause behind "Why?".

import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { DEMO_TOKEN, launchBrowser, newPage, screenshot, startServe } from './harness.mjs';

/** A loopback server that accepts connections and never answers. */
async function silentServer() {
  const sockets = new Set();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A loopback port nobody listens on (bound, then closed). */
async function closedPort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

// What a person should not have to read first.
const TECHNICAL = /os error|tcp connect|error sending request|error trying to connect|hyper|reqwest/i;

describe('settings check', () => {
  let browser;
  let app;
  let silent;

  before(async () => {
    browser = await launchBrowser();
    silent = await silentServer();
    app = await startServe();
  });

  after(async () => {
    await browser?.close();
    await app?.stop();
    await silent?.close();
  });

  test('Cancel aborts a check that takes long, keeps the dialog and saves nothing', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(app.url);
      await page.waitForSelector('#first-run:not([hidden])');
      await page.locator('#first-run-settings').click();
      await page.waitForSelector('#settings-fields:not([hidden])');
      await page.locator('#settings-url').fill(silent.url);
      await page.locator('#settings-token').fill(DEMO_TOKEN);

      const put = page.waitForRequest((r) => r.method() === 'PUT' && r.url().endsWith('/api/settings'));
      await page.locator('#settings-save').click();
      const request = await put;
      await page.waitForFunction(() => document.getElementById('settings-save').textContent === 'Checking connection…');
      assert.equal(await page.locator('#settings-save').isDisabled(), true);
      assert.equal(await page.locator('#settings-cancel').textContent(), 'Cancel check');

      const failed = page.waitForEvent('requestfailed', { predicate: (r) => r === request, timeout: 3000 });
      const started = Date.now();
      await page.locator('#settings-cancel').click();
      await failed;
      assert.ok(Date.now() - started < 3000, 'the request ended at once');
      assert.match(request.failure()?.errorText ?? '', /ABORTED/i);

      await page.waitForFunction(() => document.getElementById('settings-save').textContent === 'Save');
      assert.equal(await page.locator('#settings-save').isDisabled(), false);
      assert.equal(await page.locator('#settings-cancel').textContent(), 'Cancel');
      assert.equal(await page.locator('#settings-dialog').getAttribute('open'), '', 'the dialog stays open');
      assert.match(await page.locator('#settings-error').textContent(), /Nothing was saved/);
      await screenshot(page, 'settings-cancelled.png');
      assert.equal(await page.locator('#settings-url').inputValue(), silent.url, 'the form keeps what was typed');
      assert.equal((await app.status()).configured, false, 'nothing saved');
      assert.equal(await page.locator('.toast.success').count(), 0);

      // Cancel again closes the dialog.
      await page.locator('#settings-cancel').click();
      await page.waitForSelector('#settings-dialog:not([open])', { state: 'attached' });
      assert.deepEqual(page.errors(), []);
    } finally {
      await page.closeAll();
    }
  });

  test('a failed check says what happened in a sentence; the technical cause is behind "Why?"', async () => {
    const page = await newPage(browser);
    try {
      await page.goto(app.url);
      await page.waitForSelector('#first-run:not([hidden])');
      await page.locator('#first-run-settings').click();
      await page.waitForSelector('#settings-fields:not([hidden])');
      await page.locator('#settings-url').fill(`http://127.0.0.1:${await closedPort()}`);
      await page.locator('#settings-token').fill(DEMO_TOKEN);
      const answered = page.waitForResponse((r) => r.request().method() === 'PUT' && r.url().endsWith('/api/settings'));
      await page.locator('#settings-save').click();
      const body = await (await answered).json();
      await page.waitForSelector('#settings-url-error:not([hidden])');

      // The sentence shown up front (the whole box when it has no parts).
      const sentence = await page.locator('#settings-url-error').evaluate((box) => {
        const text = box.querySelector('.error-text');
        return (text || box).textContent.trim();
      });
      assert.ok(sentence.length > 20, `a sentence: ${sentence}`);
      assert.doesNotMatch(sentence, TECHNICAL, 'no technical wording up front');
      assert.match(sentence, /connect|refused|answer/i, `it says nothing answers there: ${sentence}`);

      // The server's technical text, when it has any, is one click away.
      const serverText = [body.detail, body.technical_detail, body.technical, body.cause].filter(Boolean).join(' ');
      const why = page.locator('#settings-url-error .why');
      if (TECHNICAL.test(serverText)) assert.equal(await why.count(), 1, 'a "Why?" button');
      if ((await why.count()) > 0) {
        assert.equal(await page.locator('#settings-url-error .why-detail').isHidden(), true);
        await why.click();
        assert.equal(await why.getAttribute('aria-expanded'), 'true');
        const detail = (await page.locator('#settings-url-error .why-detail').textContent()).trim();
        assert.ok(detail.length > 0 && detail !== sentence, `the cause: ${detail}`);
        assert.ok(await page.locator('#settings-url-error .why-detail').isVisible());
        await screenshot(page, 'settings-why.png');
      }
      assert.equal(await page.locator('#settings-url').getAttribute('aria-invalid'), 'true');
      assert.ok(!(await page.content()).includes(DEMO_TOKEN), 'no token in the page');
      assert.deepEqual(page.errors(), []);
    } finally {
      await page.closeAll();
    }
  });
});
