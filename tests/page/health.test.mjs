// What a status answer means for the page: screen, error help, footer.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  chooseView,
  errorScreenText,
  footerText,
  guessErrorKind,
  plexOffline,
  plexUnknown,
} from '../../src/web/assets/js/health.js';

const synced = {
  configured: true,
  is_syncing: false,
  track_count: 1234,
  synced_at: '2024-05-01T10:00:00Z',
  age_s: 7200,
  error: null,
  plex_connected: true,
  plex_error: null,
};

test('the screen follows the library, the settings and the failures', () => {
  assert.equal(chooseView(synced), 'library');
  assert.equal(chooseView({ ...synced, track_count: 0, is_syncing: true }), 'library');
  assert.equal(chooseView({ ...synced, track_count: 0, configured: false }), 'first-run');
  assert.equal(chooseView({ ...synced, track_count: 0, error: 'boom' }), 'error');
  assert.equal(chooseView({ ...synced, track_count: 0, plex_connected: false, plex_error: 'refused' }), 'error');
  // Not probed yet: a false without a cause is no failure.
  assert.equal(chooseView({ ...synced, track_count: 0, plex_connected: false }), 'library');
  // A cached library stays on screen whatever Plex does.
  assert.equal(chooseView({ ...synced, error: 'boom', plex_connected: false, plex_error: 'x' }), 'library');
});

test('Plex is offline only when the probe failed and said why', () => {
  assert.equal(plexOffline({ plex_connected: false, plex_error: 'connection refused' }), true);
  assert.equal(plexOffline({ plex_connected: false, plex_error: null }), false);
  assert.equal(plexOffline({ plex_connected: true }), false);
  assert.equal(plexUnknown({ plex_connected: null }), true);
  assert.equal(plexUnknown({ plex_connected: false }), true);
  assert.equal(plexUnknown({ plex_connected: false, plex_error: 'x' }), false);
});

test('an error message is sorted into a kind', () => {
  assert.equal(guessErrorKind('invalid peer certificate'), 'tls');
  assert.equal(guessErrorKind('operation timed out'), 'timeout');
  assert.equal(guessErrorKind('tcp connect error: Connection refused (os error 111)'), 'unreachable');
  assert.equal(guessErrorKind('Plex answered 401'), 'token_rejected');
  assert.equal(guessErrorKind('this server has no music library'), 'not_music');
  assert.equal(guessErrorKind('something else'), null);
});

test('the error screen names the problem and which button helps', () => {
  const refused = errorScreenText({ ...synced, plex_connected: false, plex_error: 'Connection refused' });
  assert.equal(refused.kind, 'unreachable');
  assert.equal(refused.title, 'Can’t reach your Plex server');
  assert.equal(refused.message, 'Connection refused');
  assert.equal(refused.settingsFirst, false);

  const token = errorScreenText({ ...synced, error: 'Plex rejected the token', error_kind: 'token_rejected' });
  assert.equal(token.title, 'Plex rejected the token');
  assert.equal(token.settingsFirst, true);

  // The probe's own failure wins over the last sync's kind.
  const probe = errorScreenText({ ...synced, error_kind: 'storage', plex_connected: false, plex_error: 'timed out' });
  assert.equal(probe.kind, 'timeout');

  const unknown = errorScreenText({ ...synced, error: 'strange', error_kind: 'no_such_kind' });
  assert.equal(unknown.kind, 'server_error');
  assert.equal(errorScreenText({ ...synced }).message, 'Plex did not answer.');
});

test('the footer of a synced library says how old it is', () => {
  const text = footerText(synced, Date.parse('2030-01-01T00:00:00Z'));
  assert.equal(text.label, 'Synced 2 hours ago');
  assert.equal(text.action, 'Refresh');
  assert.equal(text.count, '1,234 tracks');
  assert.match(text.title, /^Last synced \d{4}-\d\d-\d\d \d\d:\d\d$/);
  assert.equal(text.why, false);
  // Without age_s, the age comes from synced_at and the clock.
  const noAge = footerText({ ...synced, age_s: null }, Date.parse('2024-05-01T10:30:00Z'));
  assert.equal(noAge.label, 'Synced 30 minutes ago');
});

test('the footer during a sync shows its percent, and tens to screen readers', () => {
  const text = footerText({ ...synced, is_syncing: true, sync_progress: { current: 47, total: 100 } }, 0);
  assert.equal(text.label, 'Syncing… 47%');
  assert.equal(text.percent, 47);
  assert.equal(text.stateClass, 'syncing');
  assert.equal(text.srText, 'Syncing, 40 percent');
  assert.equal(text.action, '');
  const unknown = footerText({ ...synced, is_syncing: true, sync_progress: null }, 0);
  assert.equal(unknown.label, 'Syncing…');
  assert.equal(unknown.srText, 'Syncing');
});

test('the footer after a failure offers Retry and Why', () => {
  const text = footerText({ ...synced, error: 'Plex went away' }, 0);
  assert.equal(text.label, 'Sync failed');
  assert.equal(text.stateClass, 'failed');
  assert.equal(text.action, 'Retry');
  assert.equal(text.why, true);
});

test('the footer of a library following Plex live says when the last change came', () => {
  // The server's clock: synced_at + age_s is its time when it answered.
  const live = { ...synced, live: true, age_s: 3600, last_change_at: '2024-05-01T10:58:00Z' };
  const text = footerText(live, Date.parse('2030-01-01T00:00:00Z'));
  assert.equal(text.label, 'Live · updated 2 minutes ago');
  assert.equal(text.stateClass, 'live');
  assert.equal(text.action, 'Refresh');
  assert.match(text.title, /^Changes on Plex show up here as they happen; last change \d{4}-\d\d-\d\d \d\d:\d\d$/);
  // The age moves on with the page's clock while no new status comes.
  const later = footerText({ ...live, received_at: 1_000_000 }, 1_000_000 + 5 * 60_000);
  assert.equal(later.label, 'Live · updated 7 minutes ago');
  assert.equal(footerText({ ...live, last_change_at: null }, 0).label, 'Live');
  // Syncing and failures say so first; not live is as before.
  assert.match(footerText({ ...live, is_syncing: true }, 0).label, /^Syncing/);
  assert.equal(footerText({ ...live, error: 'x' }, 0).label, 'Sync failed');
  assert.match(footerText({ ...live, live: false }, 0).label, /^Synced /);
});

test('the age of a synced library moves on while no new status comes', () => {
  const text = footerText({ ...synced, received_at: 5_000 }, 5_000 + 2 * 3600_000);
  assert.equal(text.label, 'Synced 4 hours ago');
});

test('the footer before any sync', () => {
  const empty = { ...synced, track_count: 0, synced_at: null, age_s: null };
  const never = footerText(empty, 0);
  assert.equal(never.label, 'Not synced');
  assert.equal(never.action, 'Sync now');
  assert.equal(never.count, '');
  const unset = footerText({ ...empty, configured: false }, 0);
  assert.equal(unset.label, 'Not connected to Plex');
  assert.equal(unset.action, '');
});
