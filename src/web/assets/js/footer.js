// The header's server chip and the footer: sync state, track count, the
// Refresh / Sync now / Retry button, the cause of a failed sync behind
// "Why?", and the Plex offline badge. Its button emits `sync-requested`.

import { $, showText } from './dom.js';
import { topDialog } from './dialogs.js';
import { footerText, plexOffline, plexUnknown } from './health.js';
import { emit, state } from './state.js';

export function renderServerName(s) {
  const chip = $('server-name');
  if (!s.server || !s.server.name) {
    chip.hidden = true;
    return;
  }
  chip.hidden = false;
  $('server-name-text').textContent = s.server.name;
  chip.classList.toggle('offline', plexOffline(s));
  chip.classList.toggle('unknown', plexUnknown(s));
  chip.title =
    plexOffline(s)
      ? 'Plex server “' + s.server.name + '” is offline'
      : 'Plex server “' + s.server.name + '”';
}

export function renderFooter(s) {
  const stateText = $('footer-state');
  const progressBox = $('footer-progress');
  const text = footerText(s, Date.now());
  if (s.is_syncing) {
    progressBox.classList.toggle('indeterminate', text.percent === null);
    $('footer-bar').style.width = (text.percent || 0) + '%';
  } else if (text.why) {
    $('error-detail-text').textContent = s.error;
  }

  document.title = s.is_syncing ? text.label + ' · plexcache' : 'plexcache';
  showText($('footer-count'), text.count);
  // Unchanged words are left alone: the footer is a live region.
  if (stateText.textContent !== text.label) stateText.textContent = text.label;
  stateText.className = 'footer-state' + (text.stateClass ? ' ' + text.stateClass : '');
  if (text.title) stateText.title = text.title;
  else stateText.removeAttribute('title');
  if (text.srText) stateText.setAttribute('aria-hidden', 'true');
  else stateText.removeAttribute('aria-hidden');
  progressBox.hidden = !s.is_syncing;
  showText($('footer-sr'), text.srText);
  showText($('refresh'), text.action);
  showText($('error-why'), text.why ? 'Why?' : '');
  if (!text.why) closeErrorDetail();

  const offline = $('plex-offline');
  showText(offline, plexOffline(s) ? 'Plex offline' : '');
  if (plexOffline(s)) offline.title = s.plex_error;
}

export function renderUnreachable() {
  if (state.view === 'loading') {
    $('loading-text').textContent = 'Can’t reach plexcache. Retrying…';
  }
  const stateText = $('footer-state');
  stateText.textContent = 'Can’t reach plexcache · retrying…';
  stateText.className = 'footer-state failed';
  stateText.removeAttribute('aria-hidden');
  $('footer-progress').hidden = true;
  showText($('footer-sr'), '');
  showText($('refresh'), '');
  showText($('error-why'), '');
  closeErrorDetail();
}

function openErrorDetail() {
  $('error-detail').hidden = false;
  $('error-why').setAttribute('aria-expanded', 'true');
}

function closeErrorDetail() {
  $('error-detail').hidden = true;
  $('error-why').setAttribute('aria-expanded', 'false');
}

// Ages in the footer ("updated 2 minutes ago") move on while no new
// status arrives (the event stream sends one only when something happens).
const FOOTER_TICK_MS = 15000;

export function bindFooter() {
  setInterval(() => {
    if (state.status && !document.hidden) renderFooter(state.status);
  }, FOOTER_TICK_MS);
  $('refresh').addEventListener('click', () => emit('sync-requested'));
  $('error-why').addEventListener('click', () => {
    if ($('error-detail').hidden) openErrorDetail();
    else closeErrorDetail();
  });
  $('error-detail-close').addEventListener('click', () => {
    closeErrorDetail();
    $('error-why').focus();
  });
  // Escape closes the cause of a failed sync when no dialog is open (an
  // open dialog takes Escape for itself).
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || e.defaultPrevented || topDialog() || $('error-detail').hidden) return;
    closeErrorDetail();
    $('error-why').focus();
  });
}
