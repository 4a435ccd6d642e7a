/*
 * plexcache web page: browse the cached library, follow syncs, save playlists,
 * change settings. Talks only to this server's JSON API (docs/api.md; the full
 * contract is GET /api/openapi.json).
 * Everything that comes from the API is put in the page with textContent or
 * attributes, never parsed as HTML.
 *
 * This module starts the page: it binds every section, in this order, and
 * wires the events between sections that would otherwise import each other
 * (the events are listed in state.js). Native ES modules, no build step.
 *
 * Stable hooks for browser tests:
 *   #match-count            "5,321 tracks" (role=status)
 *   #track-table            role=table, aria-rowcount = matches + 1;
 *                           loaded rows carry [data-rating-key]; row checkboxes .row-check
 *   #select-all             header checkbox: select / clear all loaded rows
 *   #selection-count, #clear-selection
 *   #search                 text search (debounced 150 ms)
 *   #min-rating             radiogroup; options [data-value="0|2|4|6|8|10"]; current value in its data-value
 *   #exclude-live           checkbox (switch), checked by default
 *   [data-genre="Rock"]     genre chips (aria-pressed); #genre-filter, #genres-toggle
 *   [data-decade="1990s"]   decade chips (aria-pressed)
 *   #reset-filters, #filters-toggle (narrow screens)
 *   .sort-button[data-sort="title|artist|album|year|rating|duration|plays"]
 *   #save-playlist, #playlist-dialog, #playlist-title, #playlist-mode-selected,
 *     #playlist-mode-sample, #playlist-sample-size, #playlist-submit, #playlist-result
 *   #settings-button, #settings-dialog, #settings-url, #settings-token,
 *     #settings-sections (checkboxes), #settings-refresh-age, #settings-insecure,
 *     #settings-save, #settings-cancel (aborts a running check); field errors in
 *     #settings-url-error, #settings-token-error, #settings-sections-error,
 *     #settings-refresh-age-error, others in #settings-error; in each, the
 *     sentence is .error-text, and a technical cause opens from .why into .why-detail
 *     #settings-confirm-server: confirms a change to another Plex server (409
 *     server_change_confirm), which drops the cached library
 *   missing values (no year, no length, ...) are "—" with class .missing
 *   #footer-status          footer line (role=status); #refresh = Refresh / Sync now / Retry;
 *                           #footer-state reads "Live · updated …" (class .live) while
 *                           the library follows Plex live;
 *                           #error-why opens #error-detail (text in #error-detail-text);
 *                           #plex-offline badge
 *   #sync-modal, #sync-title, #sync-phase, #sync-count, #sync-bar (role=progressbar),
 *     #sync-rate, #sync-eta
 *   #first-run, #first-run-settings
 *   #error-screen, #error-title, #error-message, #retry, #error-settings
 *   #toasts                 notifications (.toast)
 */

import { bindDialogs } from './dialogs.js';
import { followEvents } from './events.js';
import { bindFilters, renderFilterState } from './filters.js';
import { bindFooter } from './footer.js';
import { loadLibrary } from './library.js';
import { bindPlaylistDialog } from './playlist.js';
import { bindSelection, clearSelectionForNewList } from './selection.js';
import { bindSettingsDialog } from './settings.js';
import { on } from './state.js';
import { bindStatus, pollStatus } from './status.js';
import { bindTable, resetTable } from './table.js';

function start() {
  bindFilters();
  bindTable();
  bindSelection();
  bindFooter();
  bindDialogs();
  bindPlaylistDialog();
  bindSettingsDialog();
  bindStatus();
  on('filters-changed', () => {
    clearSelectionForNewList();
    resetTable({ keepScroll: false });
  });
  renderFilterState();
  pollStatus();
  // Server-sent events replace the polling while their stream is open.
  followEvents();
  // Most visits end in the library: ask for its first rows now rather than
  // after the status answer (the requests are cheap when it stays hidden).
  loadLibrary();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
