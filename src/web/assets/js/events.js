// The event stream (GET /api/events): while it is open the status comes
// from it instead of polling, and a change to the library refreshes the
// counts, chips and visible rows in place and is told in a toast (changes
// close together in one). Polling takes over when the browser has no
// EventSource or the stream keeps failing; the stream is tried again later.

import { reloadCount, reloadLibrary } from './library.js';
import { STREAM_RETRY_MS, changeOf, changeText, isEmptyChange, nextToast, streamStep } from './live.js';
import { applyStreamStatus, pausePolling, pollSoon, pollStatus, resumePolling } from './status.js';
import { state } from './state.js';
import { renewToast, showToast } from './toasts.js';

// Changes are applied at most this often (a storm of events is one refresh).
const REFRESH_MS = 200;

const stream = { source: null, failures: 0, retryTimer: 0, refreshTimer: 0, toast: null, told: null };

// Starts following the stream; false when this browser cannot.
export function followEvents() {
  if (typeof EventSource !== 'function') return false;
  openStream();
  return true;
}

function openStream() {
  const source = new EventSource('/api/events');
  stream.source = source;
  source.addEventListener('open', () => step(source, 'open'));
  source.addEventListener('error', () => step(source, 'error'));
  source.addEventListener('status', onStatus);
  source.addEventListener('sync', onStatus);
  source.addEventListener('library', onLibrary);
  // Reachability changed: the full status says why.
  source.addEventListener('connection', () => pollSoon());
}

function step(source, kind) {
  if (source !== stream.source) return;
  const next = streamStep(stream.failures, kind, source.readyState);
  stream.failures = next.failures;
  if (next.mode === 'stream') {
    pausePolling();
    return;
  }
  resumePolling();
  if (next.mode === 'poll') {
    source.close();
    stream.source = null;
    clearTimeout(stream.retryTimer);
    stream.retryTimer = setTimeout(() => {
      stream.failures = 0;
      openStream();
    }, STREAM_RETRY_MS);
  }
}

function parse(e) {
  try {
    return JSON.parse(e.data);
  } catch (err) {
    return null;
  }
}

function onStatus(e) {
  const s = parse(e);
  if (s && typeof s === 'object') applyStreamStatus(s);
}

function onLibrary(e) {
  const change = changeOf(parse(e));
  if (isEmptyChange(change)) return;
  refreshSoon();
  // A first sync (or a new server's) fills the library behind its own
  // modal: "20,000 tracks added" would tell nothing new.
  if (state.status && state.status.blocking) return;
  const now = Date.now();
  state.changeToldAt = now;
  const next = nextToast(stream.told, change, now);
  if (next.renew && renewToast(stream.toast, changeText(next.change))) {
    stream.told = next;
  } else {
    stream.toast = showToast(changeText(change), 'success');
    stream.told = { change: change, at: now, renew: false };
  }
}

// The new status (counts, footer), then the list in place: the status
// reloads the list itself when its counts moved; an edit moves none.
function refreshSoon() {
  if (stream.refreshTimer) return;
  stream.refreshTimer = setTimeout(async () => {
    stream.refreshTimer = 0;
    const before = reloadCount();
    await pollStatus();
    if (reloadCount() === before && state.libraryLoaded && state.view === 'library') reloadLibrary();
  }, REFRESH_MS);
}
