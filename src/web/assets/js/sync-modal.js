// The blocking sync modal of a first sync or a new Plex server: phase
// steps, a progress bar, count, rate and time left.

import { closeDialog, openDialog } from './dialogs.js';
import { $ } from './dom.js';
import { fmtEta, fmtInt, fmtTracks, syncPercent } from './format.js';

const PHASES = ['connecting', 'artists', 'albums', 'tracks', 'saving'];
const PHASE_LABELS = {
  connecting: 'Connecting',
  artists: 'Reading artists',
  albums: 'Reading albums',
  tracks: 'Reading tracks',
  saving: 'Saving',
};

export function renderSyncModal(s) {
  const dialog = $('sync-modal');
  const show = !!(s.is_syncing && s.blocking);
  if (!show) {
    if (dialog.open) closeDialog(dialog);
    return;
  }
  const p = s.sync_progress || {};
  const phase = PHASES.includes(p.phase) ? p.phase : 'connecting';
  $('sync-title').textContent = s.server_changed
    ? 'New Plex server detected — syncing its library'
    : 'Syncing your library';
  // During a server change `server` still names the old server.
  const server = $('sync-server');
  const name = !s.server_changed && s.server && s.server.name;
  server.hidden = !name;
  server.textContent = name ? 'From “' + name + '”' : '';

  $('sync-phase').textContent = PHASE_LABELS[phase];
  const at = PHASES.indexOf(phase);
  dialog.querySelectorAll('.phase-steps li').forEach((li, i) => {
    li.classList.toggle('done', i < at);
    li.classList.toggle('current', i === at);
  });

  const pct = syncPercent(p);
  const bar = $('sync-bar');
  bar.classList.toggle('indeterminate', pct === null);
  if (pct === null) {
    bar.removeAttribute('aria-valuenow');
    bar.removeAttribute('aria-valuetext');
  } else {
    bar.setAttribute('aria-valuenow', String(pct));
    bar.setAttribute('aria-valuetext', pct + '%, ' + fmtInt(p.current) + ' of ' + fmtInt(p.total) + ' tracks');
  }
  $('sync-bar-fill').style.width = (pct || 0) + '%';

  let countText = '';
  if (p.total > 0) countText = fmtInt(p.current || 0) + ' / ' + fmtInt(p.total) + ' tracks';
  else if (p.current > 0) countText = fmtTracks(p.current);
  else countText = phase === 'connecting' ? 'Starting…' : '';
  $('sync-count').textContent = countText;
  $('sync-rate').textContent = p.rate > 0 ? fmtInt(p.rate) + ' tracks/s' : '';
  $('sync-eta').textContent = fmtEta(p.eta_s);

  if (!dialog.open) openDialog(dialog, { closable: false });
}
