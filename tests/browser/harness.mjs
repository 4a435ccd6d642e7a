// Shared helpers of the browser tests: start the real plexcache binary
// (`demo`, `emulate`, `serve`) on free ports in a throwaway data directory,
// talk to its API and to the emulator's control endpoint, drive Debian's
// Chromium through playwright-core, and keep screenshots.
//
// Environment:
//   PLEXCACHE_BIN   the binary to test (default: target/release/plexcache
//                   under the repository root)
//   CHROMIUM_PATH   the browser (default: /usr/bin/chromium)

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');
export const artifactsDir = join(here, 'artifacts');

export const BIN = resolve(repoRoot, process.env.PLEXCACHE_BIN || join('target', 'release', 'plexcache'));
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** The token `plexcache demo` and `plexcache emulate` expect by default. */
export const DEMO_TOKEN = 'plexcache-demo-token';

// ------------------------------------------------------------------ waiting

/**
 * Polls `check` until it returns a truthy value (which is returned), or
 * throws after `timeout` ms with `message` and the last value or error seen.
 * An error with `fatal` set ends the wait at once.
 */
export async function waitFor(check, { timeout = 15000, interval = 50, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (err) {
      if (err && err.fatal) throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      const seen = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeout} ms waiting for ${message} (last seen: ${seen})`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

// ------------------------------------------------------------------ processes

/** The environment of a child: ours without any Plex or plexcache settings. */
function childEnv(extra) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('PLEX_') || key.startsWith('PLEXCACHE_')) continue;
    env[key] = value;
  }
  env.NO_COLOR = '1';
  env.RUST_LOG = env.RUST_LOG || 'info';
  return Object.assign(env, extra || {});
}

// Children still running when this process exits (a test file that
// crashed) are killed, and throwaway data directories removed.
const running = new Set();
const dataDirs = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

function checkBinary() {
  if (!existsSync(BIN)) {
    throw new Error(`plexcache binary not found at ${BIN}: run \`cargo build --release\` or set PLEXCACHE_BIN`);
  }
}

/**
 * Starts the binary with `args` and waits until every pattern in `expect`
 * (name → RegExp with one capture group) has matched a line of stdout.
 * Resolves to the process handle with the captured values.
 */
async function startProcess(args, { env, expect, timeout = 30000 }) {
  checkBinary();
  const child = spawn(BIN, args, { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const output = [];
  const found = {};
  let exited = null;
  const keep = (chunk) => {
    output.push(chunk.toString());
    if (output.length > 2000) output.splice(0, output.length - 2000);
  };
  let stdoutText = '';
  child.stdout.on('data', (chunk) => {
    keep(chunk);
    stdoutText += chunk.toString();
    for (const [name, pattern] of Object.entries(expect)) {
      if (found[name] === undefined) {
        const m = stdoutText.match(pattern);
        if (m) found[name] = m[1];
      }
    }
  });
  child.stderr.on('data', keep);
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });

  const handle = {
    child,
    found,
    /** Everything the process printed (stdout and stderr, the last part). */
    logs: () => output.join(''),
    async stop() {
      if (exited) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!exited) child.kill('SIGKILL');
      }, 5000);
      await gone;
      clearTimeout(timer);
    },
  };
  try {
    await waitFor(
      () => {
        if (exited) {
          const err = new Error(`plexcache ${args[0]} exited (${JSON.stringify(exited)}):\n${handle.logs()}`);
          err.fatal = true;
          throw err;
        }
        return Object.keys(expect).every((name) => found[name] !== undefined);
      },
      { timeout, interval: 20, message: `plexcache ${args[0]} to print its address` },
    );
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return handle;
}

/** GET or send JSON to `base + path`; answers `{status, body}` (body parsed when JSON). */
export async function http(base, path, { method = 'GET', body } = {}) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(base + path, init);
  const text = await response.text();
  let parsed = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: parsed };
}

/** Like `http`, but throws unless the status is 2xx; answers the body. */
export async function json(base, path, options) {
  const { status, body } = await http(base, path, options);
  if (status < 200 || status >= 300) {
    throw new Error(`${options?.method || 'GET'} ${path} answered ${status}: ${JSON.stringify(body)}`);
  }
  return body;
}

function newDataDir() {
  const dir = mkdtempSync(join(tmpdir(), 'plexcache-browser-'));
  dataDirs.add(dir);
  return dir;
}

/** Adds the helpers every app (demo or serve) handle has. */
function appHelpers(handle, url, dataDir) {
  handle.url = url;
  handle.dataDir = dataDir;
  handle.api = (path, options) => json(url, path, options);
  handle.apiRaw = (path, options) => http(url, path, options);
  handle.status = () => json(url, '/api/library/status');
  /** Total of `/api/library/tracks` for a query string (without limit). */
  handle.total = async (query) => (await json(url, `/api/library/tracks?${query}&limit=0`)).total;
  /** Waits until no sync runs and the last one succeeded with tracks. */
  handle.waitSynced = (timeout = 60000) =>
    waitFor(
      async () => {
        const s = await handle.status();
        return !s.is_syncing && s.synced_at && !s.error && s.track_count > 0 && s;
      },
      { timeout, interval: 100, message: 'a finished sync' },
    );
  const stop = handle.stop;
  handle.stop = async () => {
    await stop();
    if (dataDir) {
      rmSync(dataDir, { recursive: true, force: true });
      dataDirs.delete(dataDir);
    }
  };
  return handle;
}

/** Adds the emulator control helpers to a handle knowing `plexUrl`. */
function emulatorHelpers(handle, plexUrl) {
  handle.plexUrl = plexUrl;
  handle.emulator = (path, options) => json(plexUrl, '/_emulator' + path, options);
  handle.setFaults = (faults) => handle.emulator('/faults', { method: 'PUT', body: faults });
  return handle;
}

async function waitHealthy(url) {
  await waitFor(async () => (await http(url, '/api/health')).status === 200, {
    timeout: 15000,
    interval: 20,
    message: `${url}/api/health`,
  });
}

/**
 * `plexcache demo`: a generated library behind an emulated Plex, plus the
 * app on a free port. `env` is added to the child's environment; the probe
 * runs every half second unless `env` says otherwise.
 */
export async function startDemo({ tracks = 20000, itemLatencyUs = 0, seed, env } = {}) {
  const dataDir = newDataDir();
  const args = [
    'demo',
    '--tracks', String(tracks),
    '--listen', '127.0.0.1:0',
    '--emulator-listen', '127.0.0.1:0',
    '--item-latency-us', String(itemLatencyUs),
    '--data-dir', dataDir,
  ];
  if (seed !== undefined) args.push('--seed', String(seed));
  let handle;
  try {
    handle = await startProcess(args, {
      env: { PLEXCACHE_PROBE_INTERVAL_SECS: '0.5', ...env },
      expect: {
        plexUrl: /served by an emulated Plex at (http:\/\/\S+)/,
        url: /open (http:\/\/\S+) in a browser/,
      },
    });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  appHelpers(handle, handle.found.url, dataDir);
  emulatorHelpers(handle, handle.found.plexUrl);
  await waitHealthy(handle.url).catch(async (err) => {
    await handle.stop();
    throw err;
  });
  return handle;
}

/** `plexcache emulate` on a free port, with extra flags. */
export async function startEmulator({ tracks = 2000, args = [] } = {}) {
  const handle = await startProcess(['emulate', '--tracks', String(tracks), '--listen', '127.0.0.1:0', ...args], {
    expect: { plexUrl: /emulator listening on (http:\/\/\S+)/ },
  });
  return emulatorHelpers(handle, handle.found.plexUrl);
}

/** `plexcache serve` on a free port with a fresh data directory. */
export async function startServe({ env, args = [] } = {}) {
  const dataDir = newDataDir();
  let handle;
  try {
    handle = await startProcess(['serve', '--data-dir', dataDir, '--listen', '127.0.0.1:0', ...args], {
      env: { PLEXCACHE_PROBE_INTERVAL_SECS: '0.5', ...env },
      expect: { url: /listening on (http:\/\/\S+)/ },
    });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  appHelpers(handle, handle.found.url, dataDir);
  await waitHealthy(handle.url).catch(async (err) => {
    await handle.stop();
    throw err;
  });
  return handle;
}

// ------------------------------------------------------------------ browser

export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (apt-get install chromium)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/**
 * A page of a fresh context. `page.errors()` lists uncaught exceptions of the
 * page's script (a test ends by asserting there were none).
 */
export async function newPage(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  page.errors = () => errors.slice();
  page.closeAll = () => context.close();
  return page;
}

/** Saves a screenshot under tests/browser/artifacts/ and answers its path. */
export async function screenshot(page, name, options = {}) {
  mkdirSync(artifactsDir, { recursive: true });
  const path = join(artifactsDir, name);
  await page.screenshot({ path, ...options });
  return path;
}

/** "20,000 tracks", as the page writes counts. */
export function tracksText(n) {
  return new Intl.NumberFormat('en-US').format(n) + (n === 1 ? ' track' : ' tracks');
}

/**
 * Waits until the page shows `count` matches (and is not loading), and the
 * first row is the track `firstKey` when given.
 */
export async function waitForMatches(page, count, firstKey, timeout = 10000) {
  await page.waitForFunction(
    ({ text, key }) => {
      const el = document.getElementById('match-count');
      if (!el || el.classList.contains('loading') || el.textContent.trim() !== text) return false;
      if (key === null) return true;
      const row = document.querySelector('#track-rows .tr[aria-rowindex="2"]:not([hidden])');
      return !!row && row.dataset.ratingKey === key;
    },
    { text: tracksText(count), key: firstKey ?? null },
    { timeout, polling: 'raf' },
  );
}
