// The server's status, polled: fast while a sync runs, slowly when idle or
// hidden; paused while the event stream (events.js) brings each status
// instead. Each answer updates the screen, footer, sync modal and, after a
// sync or a change, the library; a failed sync is told in a toast. Starts
// syncs, also for `sync-requested`.

import { api } from './api.js';
import { $ } from './dom.js';
import { renderFooter, renderServerName, renderUnreachable } from './footer.js';
import { fmtTracks } from './format.js';
import { chooseView, plexOffline } from './health.js';
import { reloadLibrary } from './library.js';
import { renderErrorScreen, showView } from './screens.js';
import { renderSelection } from './selection.js';
import { on, state } from './state.js';
import { renderSyncModal } from './sync-modal.js';
import { renderEmptyState } from './table.js';
import { showError, showToast } from './toasts.js';

const POLL_SYNCING_MS = 500;
const POLL_IDLE_MS = 8000;
const POLL_HIDDEN_MS = 30000;

// paused: the event stream brings the status; one-off polls still run.
const poll = { timer: 0, running: false, again: false, failures: 0, paused: false };

// Status answers can arrive out of order: a slow one (asked while a sync
// ran) may land after a newer one. Only an answer to a request newer than
// the last one applied counts, so the page never steps back in time.
const answers = { asked: 0, applied: 0 };

// The status, or null when a newer answer was applied meanwhile.
export async function loadStatus() {
  const asked = ++answers.asked;
  const s = await api('GET', '/api/library/status');
  if (asked < answers.applied) return null;
  answers.applied = asked;
  return s;
}

export async function pollStatus() {
  if (poll.running) {
    poll.again = true;
    return;
  }
  poll.running = true;
  clearTimeout(poll.timer);
  try {
    let s = null;
    try {
      s = await loadStatus();
      poll.failures = 0;
    } catch (err) {
      poll.failures++;
      renderUnreachable();
    }
    if (s) applyStatus(s);
  } finally {
    poll.running = false;
    if (poll.again) {
      poll.again = false;
      pollStatus();
    } else if (!poll.paused) {
      poll.timer = setTimeout(pollStatus, nextPollDelay());
    }
  }
}

function nextPollDelay() {
  const s = state.status;
  if (s && s.is_syncing) return POLL_SYNCING_MS;
  if (poll.failures > 0) return Math.min(POLL_IDLE_MS, 1000 * poll.failures);
  return document.hidden ? POLL_HIDDEN_MS : POLL_IDLE_MS;
}

export function pollSoon() {
  clearTimeout(poll.timer);
  poll.timer = setTimeout(pollStatus, 150);
}

// The event stream is open: it brings the status from now on.
export function pausePolling() {
  poll.paused = true;
  clearTimeout(poll.timer);
}

// The event stream is down: poll again (at once).
export function resumePolling() {
  if (!poll.paused) return;
  poll.paused = false;
  pollSoon();
}

// A status from the event stream: newer than any poll still on its way.
export function applyStreamStatus(s) {
  answers.applied = ++answers.asked;
  applyStatus(s);
}

export function applyStatus(s) {
  const prev = state.status;
  const wasLoaded = state.libraryLoaded;
  s.received_at = Date.now();
  state.status = s;

  const view = chooseView(s);
  if (view === 'error') renderErrorScreen(s);
  showView(view);
  renderServerName(s);
  renderFooter(s);
  renderSyncModal(s);
  if (view === 'library') renderEmptyState();

  // Rating keys of another server mean nothing to the new one.
  const serverId = (x) => (x && x.server && x.server.machine_identifier) || null;
  if (prev && ((s.server_changed && !prev.server_changed) || (serverId(prev) && serverId(s) && serverId(prev) !== serverId(s)))) {
    state.selection.clear();
    renderSelection();
  }
  if (prev && wasLoaded && view === 'library') {
    const syncEnded = prev.is_syncing && !s.is_syncing;
    const dataChanged =
      prev.synced_at !== s.synced_at || prev.track_count !== s.track_count || prev.last_change_at !== s.last_change_at;
    if (syncEnded || dataChanged) reloadLibrary();
    // A change the event stream told already has its own toast.
    if (syncEnded && !s.error && !prev.blocking && !state.changeToldAt) {
      showToast('Library updated · ' + fmtTracks(s.track_count), 'success');
    }
  }
  if (prev && prev.is_syncing !== s.is_syncing) state.changeToldAt = 0;
  noticeFailedSync(prev, s);
  maybeAutoSync(s);
}

// A failed sync is told in a toast, also when it started and ended between
// two polls and no poll saw it running. The newest history row tells: a
// finished, unsuccessful row other than the one last seen is news. The
// history is read only while the status reports a failure.
const failures = { primed: false, lastId: null, checking: false };

async function noticeFailedSync(prev, s) {
  if (s.is_syncing) return;
  if (!s.error) {
    failures.primed = true;
    return;
  }
  if (failures.checking) return;
  failures.checking = true;
  // Without the history, a change seen by the polls still counts.
  let news = !!prev && (prev.is_syncing || prev.error !== s.error);
  try {
    const answer = await api('GET', '/api/library/sync/history?limit=1');
    const latest = answer && Array.isArray(answer.syncs) ? answer.syncs[0] : null;
    if (latest) {
      const finished = latest.outcome !== 'success' && latest.outcome !== 'running';
      if (finished && latest.id !== failures.lastId) news = news || failures.primed;
      failures.lastId = latest.id;
    }
  } catch (err) {
    // The toast is a courtesy; the footer shows the failure anyway.
  } finally {
    failures.checking = false;
  }
  // A failure the page found on its first look is shown by the footer (or
  // the error screen), not announced as news.
  failures.primed = true;
  const current = state.status;
  if (news && current && current.error && !current.is_syncing && current.track_count > 0) {
    showToast('Sync failed: ' + current.error, 'error');
  }
}

// A stale library refreshes itself once per page load; the server keeps its
// own timer for visitors who never come. After a failed sync the server's
// back-off decides when to try again (Retry tries at once).
function maybeAutoSync(s) {
  if (state.autoSyncTried) return;
  state.autoSyncTried = true;
  if (s.stale && !s.is_syncing && !s.error && s.configured && !plexOffline(s)) {
    startSync({ quiet: true });
  }
}

export async function startSync(opts) {
  const quiet = opts && opts.quiet;
  try {
    // 200 {started: false, detail} when no sync can start (not configured,
    // a read-only cache); the sentence says why.
    const answer = await api('POST', '/api/library/sync');
    if (answer && answer.started === false && !quiet) {
      showToast(answer.detail || 'The sync could not start.', 'error');
    }
  } catch (err) {
    // 409: a sync already runs, which is what we wanted.
    if (err.status !== 409) showError(err);
  }
  pollSoon();
}

export function bindStatus() {
  on('sync-requested', (opts) => startSync(opts));
  $('retry').addEventListener('click', async () => {
    const button = $('retry');
    button.disabled = true;
    button.textContent = 'Retrying…';
    await startSync();
    setTimeout(() => {
      button.disabled = false;
      button.textContent = 'Retry';
    }, 1500);
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) pollSoon();
  });
}
