// What a status answer (GET /api/library/status) means for the page: which
// screen to show, whether Plex is offline, the help for a failure, the
// footer's words. Pure: it takes the status (and the time), so it runs
// under `node --test`.

import { fmtAgo, fmtDateTime, fmtTracks, syncPercent } from './format.js';

// Plex is known to be unreachable when the probe failed and said why. A
// false without a cause means "not probed yet": the status may answer a
// boolean before the first probe.
export function plexOffline(s) {
  return s.plex_connected === false && !!s.plex_error;
}

export function plexUnknown(s) {
  return s.plex_connected == null || (s.plex_connected === false && !s.plex_error);
}

export function chooseView(s) {
  if (s.is_syncing || s.track_count > 0) return 'library';
  if (!s.configured) return 'first-run';
  if (plexOffline(s) || s.error) return 'error';
  return 'library';
}

export const ERROR_HELP = {
  unreachable: {
    title: 'Can’t reach your Plex server',
    help: 'Check that Plex Media Server is running and that the address in settings is right, including the port (usually 32400). If plexcache runs in Docker, use the server’s LAN address, not localhost.',
  },
  timeout: {
    title: 'Your Plex server is not answering',
    help: 'It may be busy, asleep or overloaded. Check that it is running, then retry.',
  },
  token_rejected: {
    title: 'Plex rejected the token',
    help: 'The token is wrong or has expired. Get a fresh one (Plex Web → any item → ⋯ → Get Info → View XML, the X-Plex-Token in the address) and enter it in settings.',
  },
  not_found: {
    title: 'Music library not found',
    help: 'A music library chosen in settings no longer exists on this server. Open settings and pick the libraries to cache.',
  },
  not_music: {
    title: 'No music library on this server',
    help: 'This Plex server has no music library. Add one in Plex, or point plexcache to the server that holds your music.',
  },
  bad_response: {
    title: 'Unexpected answer from Plex',
    help: 'The address may point to something other than Plex Media Server. Check the URL and port in settings.',
  },
  server_error: {
    title: 'Plex reported an error',
    help: 'Plex answered with a server error. Wait a moment and retry; Plex’s own logs tell more if it keeps happening.',
  },
  storage: {
    title: 'Can’t write the local cache',
    help: 'plexcache could not save its database. Check free disk space and that its data directory is writable, then retry.',
  },
  cancelled: {
    title: 'The sync was stopped',
    help: 'The sync stopped before it finished. Start it again.',
  },
  not_configured: {
    title: 'Plex is not set up yet',
    help: 'plexcache needs your Plex server’s address and a token. Open settings to add them.',
  },
  tls: {
    title: 'The server’s certificate is not trusted',
    help: 'Your Plex address uses https with a certificate plexcache cannot verify. Use the http address, or allow self-signed certificates in settings.',
  },
};

export function guessErrorKind(message) {
  const m = String(message || '');
  if (/certificate|\btls\b|\bssl\b/i.test(m)) return 'tls';
  if (/timed? ?out|timeout/i.test(m)) return 'timeout';
  if (/refused|unreachable|resolve|dns|no route|connection|connect to/i.test(m)) return 'unreachable';
  if (/\b401\b|\b403\b|rejected|unauthori[sz]ed/i.test(m)) return 'token_rejected';
  if (/no music/i.test(m)) return 'not_music';
  return null;
}

// The error screen for a status: { kind, title, help, message, settingsFirst }.
export function errorScreenText(s) {
  const probeFailed = s.plex_connected === false && s.plex_error;
  const message = probeFailed ? s.plex_error : s.error || s.plex_error || 'Plex did not answer.';
  let kind = probeFailed ? guessErrorKind(s.plex_error) || s.error_kind : s.error_kind || guessErrorKind(message);
  if (!ERROR_HELP[kind]) kind = plexOffline(s) ? 'unreachable' : 'server_error';
  // When only a settings change can help, that is the main button.
  const settingsFirst = ['token_rejected', 'not_found', 'not_configured', 'tls', 'bad_response'].includes(kind);
  return {
    kind: kind,
    title: ERROR_HELP[kind].title,
    help: ERROR_HELP[kind].help,
    message: message,
    settingsFirst: settingsFirst,
  };
}

// Seconds since the status arrived (`received_at`, ms, set by the page),
// to age what it said while no new status comes.
function elapsedSince(s, now) {
  return s.received_at > 0 && now > s.received_at ? (now - s.received_at) / 1000 : 0;
}

// Seconds from the server time `time` (RFC 3339) to `now`, on the server's
// clock where the status tells it (synced_at + age_s), so that a browser
// clock that is off does not shift it; null without a time.
function secondsSince(s, time, now) {
  const at = Date.parse(time);
  if (isNaN(at)) return null;
  const synced = Date.parse(s.synced_at);
  const serverNow = !isNaN(synced) && s.age_s != null ? synced + s.age_s * 1000 : s.received_at || now;
  return Math.max(0, (serverNow - at) / 1000 + elapsedSince(s, now));
}

// The footer's words for a status at time `now` (ms): the state label and
// its class, the action button, whether "Why?" shows, the screen reader's
// text, the label's tooltip, the sync's percent and the track count.
export function footerText(s, now) {
  const text = { label: '', stateClass: '', action: '', why: false, srText: '', title: '', percent: null, count: '' };
  if (s.is_syncing) {
    const pct = syncPercent(s.sync_progress);
    text.percent = pct;
    text.label = pct === null ? 'Syncing…' : 'Syncing… ' + pct + '%';
    text.stateClass = 'syncing';
    // Screen readers hear progress in steps of 10 % rather than every poll.
    text.srText = pct === null ? 'Syncing' : 'Syncing, ' + Math.floor(pct / 10) * 10 + ' percent';
  } else if (!s.configured && s.track_count === 0) {
    text.label = 'Not connected to Plex';
  } else if (s.error) {
    text.label = 'Sync failed';
    text.stateClass = 'failed';
    text.action = 'Retry';
    text.why = true;
  } else if (!s.synced_at) {
    text.label = 'Not synced';
    text.action = 'Sync now';
  } else if (s.live) {
    // Following Plex live: when the last change arrived says more than
    // when the last full sync ran.
    const changed = secondsSince(s, s.last_change_at, now);
    text.label = changed === null ? 'Live' : 'Live · updated ' + fmtAgo(changed);
    text.stateClass = 'live';
    const when = new Date(s.last_change_at);
    text.title = 'Changes on Plex show up here as they happen' + (isNaN(when) ? '' : '; last change ' + fmtDateTime(when));
    text.action = 'Refresh';
  } else {
    const age = s.age_s != null ? s.age_s + elapsedSince(s, now) : (now - Date.parse(s.synced_at)) / 1000;
    text.label = 'Synced ' + fmtAgo(age);
    const when = new Date(s.synced_at);
    if (!isNaN(when)) text.title = 'Last synced ' + fmtDateTime(when);
    text.action = 'Refresh';
  }
  text.count = s.track_count > 0 || s.synced_at ? fmtTracks(s.track_count) : '';
  return text;
}
