/*
 * plexcache web page: browse the cached library, follow syncs, save playlists,
 * change settings. Talks only to this server's JSON API (docs/api-contract.md).
 * Everything that comes from the API is put in the page with textContent or
 * attributes, never parsed as HTML.
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
 *                           #error-why opens #error-detail (text in #error-detail-text);
 *                           #plex-offline badge
 *   #sync-modal, #sync-title, #sync-phase, #sync-count, #sync-bar (role=progressbar),
 *     #sync-rate, #sync-eta
 *   #first-run, #first-run-settings
 *   #error-screen, #error-title, #error-message, #retry, #error-settings
 *   #toasts                 notifications (.toast)
 */
'use strict';

(function () {
  const PAGE_SIZE = 100;
  const MAX_CACHED_PAGES = 40;
  const OVERSCAN_ROWS = 8;
  const SEARCH_DEBOUNCE_MS = 150;
  const POLL_SYNCING_MS = 500;
  const POLL_IDLE_MS = 8000;
  const POLL_HIDDEN_MS = 30000;
  const GENRES_COLLAPSED = 30;
  const MISSING = '—';

  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------- format

  // Counts and dates are formatted by hand: the first use of Intl in a page
  // loads locale data, which costs tens of milliseconds before the first rows.
  function fmtInt(n) {
    const v = Math.round(Number(n) || 0);
    return (v < 0 ? '-' : '') + String(Math.abs(v)).replace(/\B(?=(\d{3})+$)/g, ',');
  }

  function fmtDateTime(date) {
    const two = (n) => String(n).padStart(2, '0');
    return (
      date.getFullYear() + '-' + two(date.getMonth() + 1) + '-' + two(date.getDate()) +
      ' ' + two(date.getHours()) + ':' + two(date.getMinutes())
    );
  }

  function fmtTracks(n) {
    return fmtInt(n) + (Number(n) === 1 ? ' track' : ' tracks');
  }

  function fmtDuration(ms) {
    if (ms == null || !(ms >= 0)) return '';
    const total = Math.round(ms / 1000);
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = String(total % 60).padStart(2, '0');
    return h > 0 ? h + ':' + String(m).padStart(2, '0') + ':' + s : m + ':' + s;
  }

  function plural(n, word) {
    return n + ' ' + word + (n === 1 ? '' : 's');
  }

  function fmtAgo(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 45) return 'just now';
    const minutes = Math.round(s / 60);
    if (minutes < 60) return plural(minutes, 'minute') + ' ago';
    const hours = Math.round(s / 3600);
    if (hours < 24) return plural(hours, 'hour') + ' ago';
    const days = Math.round(s / 86400);
    if (days < 45) return plural(days, 'day') + ' ago';
    const months = Math.round(days / 30.4);
    if (months < 12) return plural(months, 'month') + ' ago';
    return plural(Math.round(days / 365), 'year') + ' ago';
  }

  function fmtEta(seconds) {
    if (seconds == null || !isFinite(seconds) || seconds < 0) return '';
    const s = Math.ceil(seconds);
    if (s < 60) return 'about ' + s + ' s left';
    const m = Math.round(s / 60);
    if (m < 60) return 'about ' + m + ' min left';
    return 'about ' + Math.floor(m / 60) + ' h ' + (m % 60) + ' min left';
  }

  function starsLabel(rating) {
    if (rating == null || !(rating > 0)) return 'Not rated';
    const stars = Math.round(rating) / 2;
    return stars + (stars === 1 ? ' star' : ' stars');
  }

  // Case- and accent-insensitive key for the genre chip filter.
  function foldText(text) {
    return String(text).normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
  }

  // ---------------------------------------------------------------- api

  class ApiError extends Error {
    constructor(status, body) {
      const detail = (body && (body.detail || body.error)) || 'The server answered with status ' + status + '.';
      super(detail);
      this.status = status;
      this.code = body && body.error;
      this.detail = detail;
      this.field = body && body.field;
      this.body = body || null;
    }
  }

  async function api(method, path, options) {
    const opts = options || {};
    const init = {
      method: method,
      headers: { Accept: 'application/json' },
      credentials: 'same-origin',
      cache: 'no-store',
      signal: opts.signal,
    };
    if (opts.body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(opts.body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (err) {
      if (err && err.name === 'AbortError') throw err;
      throw new ApiError(0, { error: 'network', detail: 'Can’t reach plexcache. Is it still running?' });
    }
    let body = null;
    const text = await response.text();
    if (text) {
      try {
        body = JSON.parse(text);
      } catch (_) {
        body = null;
      }
    }
    if (!response.ok) throw new ApiError(response.status, body);
    return body;
  }

  function isAbort(err) {
    return err && err.name === 'AbortError';
  }

  // ---------------------------------------------------------------- state

  const state = {
    status: null,
    view: 'loading',
    libraryLoaded: false,
    autoSyncTried: false,
    filters: {
      genres: new Set(),
      decades: new Set(),
      minRating: 0,
      excludeLive: true,
      q: '',
    },
    sort: { key: 'artist', order: 'asc' },
    stats: null,
    showAllGenres: false,
    genreQuery: '',
    // Selected rating key → where the row was last seen: { generation, index }
    // (generation: table.generation at the time). Saving follows the table's
    // order, so each selected row remembers its position in the list.
    selection: new Map(),
    lastClickedIndex: -1,
    settings: null,
  };

  // ---------------------------------------------------------------- filters

  function filterQuery() {
    const f = state.filters;
    const params = new URLSearchParams();
    if (f.genres.size) params.set('genres', Array.from(f.genres).join(','));
    if (f.decades.size) params.set('decades', Array.from(f.decades).join(','));
    if (f.minRating > 0) params.set('min_rating', String(f.minRating));
    params.set('exclude_live', f.excludeLive ? 'true' : 'false');
    if (f.q) params.set('q', f.q);
    return params;
  }

  function filterBody() {
    const f = state.filters;
    const body = { exclude_live: f.excludeLive };
    if (f.genres.size) body.genres = Array.from(f.genres);
    if (f.decades.size) body.decades = Array.from(f.decades);
    if (f.minRating > 0) body.min_rating = f.minRating;
    if (f.q) body.q = f.q;
    return body;
  }

  function activeFilterCount() {
    const f = state.filters;
    return f.genres.size + f.decades.size + (f.minRating > 0 ? 1 : 0) + (f.excludeLive ? 0 : 1) + (f.q ? 1 : 0);
  }

  function describeFilters() {
    const f = state.filters;
    const parts = [];
    if (f.genres.size) parts.push(Array.from(f.genres).join(', '));
    if (f.decades.size) parts.push(Array.from(f.decades).join(', '));
    if (f.minRating > 0) parts.push(f.minRating / 2 + '★ and up');
    if (f.q) parts.push('“' + f.q + '”');
    parts.push(f.excludeLive ? 'no live recordings' : 'live recordings included');
    return parts.join(' · ');
  }

  // A filter change clears the selection. The selection is made of rows of
  // the list on screen; a new filter lists other rows, and a selection kept
  // across it would be saved although the user cannot see it (two 1961
  // tracks saved as "2010s"). Which selected rows the new filter still lists
  // is unknown without reading the whole list, so the page does not prune:
  // it clears, and says so. A sort change keeps the selection (the same rows
  // are listed, in another order).
  function filtersChanged() {
    renderFilterState();
    clearSelectionForNewList();
    resetTable({ keepScroll: false });
  }

  function clearSelectionForNewList() {
    const n = state.selection.size;
    if (n === 0) return;
    state.selection.clear();
    state.lastClickedIndex = -1;
    renderSelection();
    showToast('Selection cleared (' + fmtInt(n) + ' ' + (n === 1 ? 'track' : 'tracks') + '): the filter changed', 'info');
  }

  function toggleInSet(set, value) {
    if (set.has(value)) set.delete(value);
    else set.add(value);
  }

  function resetFilters() {
    const f = state.filters;
    f.genres.clear();
    f.decades.clear();
    f.minRating = 0;
    f.excludeLive = true;
    f.q = '';
    $('search').value = '';
    $('exclude-live').checked = true;
    filtersChanged();
  }

  function renderFilterState() {
    const f = state.filters;
    document.querySelectorAll('#genre-chips .chip').forEach((chip) => {
      chip.setAttribute('aria-pressed', String(f.genres.has(chip.dataset.genre)));
    });
    document.querySelectorAll('#decade-chips .chip').forEach((chip) => {
      chip.setAttribute('aria-pressed', String(f.decades.has(chip.dataset.decade)));
    });
    renderRatingInput();
    const count = activeFilterCount();
    $('reset-filters').hidden = count === 0;
    const badge = $('filters-active-count');
    badge.hidden = count === 0;
    badge.textContent = String(count);
  }

  function makeChip(kind, value, count) {
    const chip = document.createElement('button');
    chip.type = 'button';
    chip.className = 'chip';
    chip.dataset[kind] = value;
    const name = document.createElement('span');
    name.className = 'chip-name';
    name.textContent = value;
    const n = document.createElement('span');
    n.className = 'chip-count';
    n.textContent = fmtInt(count);
    chip.append(name, n);
    chip.title = value + ' · ' + fmtTracks(count);
    chip.setAttribute('aria-label', value + ', ' + fmtTracks(count));
    return chip;
  }

  function renderGenreChips() {
    const box = $('genre-chips');
    const all = (state.stats && state.stats.genres) || [];
    const selected = state.filters.genres;
    const query = foldText(state.genreQuery.trim());
    let shown;
    if (query) {
      shown = all.filter((g) => foldText(g.name).includes(query));
    } else if (state.showAllGenres) {
      shown = all.slice();
    } else {
      shown = all.slice(0, GENRES_COLLAPSED);
      // Keep chosen genres visible even when they are outside the top list.
      all.slice(GENRES_COLLAPSED).forEach((g) => {
        if (selected.has(g.name)) shown.push(g);
      });
    }
    const known = new Set(all.map((g) => g.name));
    selected.forEach((name) => {
      if (!known.has(name)) shown.push({ name: name, count: 0 });
    });

    const fragment = document.createDocumentFragment();
    shown.forEach((g) => {
      const chip = makeChip('genre', g.name, g.count);
      chip.setAttribute('aria-pressed', String(selected.has(g.name)));
      fragment.append(chip);
    });
    box.replaceChildren(fragment);
    // A short genre list needs no search box.
    $('genre-filter').parentElement.hidden = all.length <= 12;

    const toggle = $('genres-toggle');
    toggle.hidden = !!query || all.length <= GENRES_COLLAPSED;
    toggle.textContent = state.showAllGenres ? 'Show fewer' : 'Show all ' + fmtInt(all.length);
    toggle.setAttribute('aria-expanded', String(state.showAllGenres));
    $('genre-empty').hidden = shown.length > 0;
    $('genre-empty').textContent = query ? 'No genre matches “' + state.genreQuery.trim() + '”.' : 'None yet.';
  }

  function renderDecadeChips() {
    const box = $('decade-chips');
    const all = (state.stats && state.stats.decades) || [];
    const fragment = document.createDocumentFragment();
    all.forEach((d) => {
      const chip = makeChip('decade', d.decade, d.count);
      chip.setAttribute('aria-pressed', String(state.filters.decades.has(d.decade)));
      fragment.append(chip);
    });
    box.replaceChildren(fragment);
    $('decade-empty').hidden = all.length > 0;
  }

  function buildRatingInput() {
    const box = $('min-rating');
    const any = document.createElement('button');
    any.type = 'button';
    any.className = 'rate-any';
    any.dataset.value = '0';
    any.setAttribute('role', 'radio');
    any.setAttribute('aria-label', 'Any rating');
    any.textContent = 'Any';
    box.append(any);
    for (let stars = 1; stars <= 5; stars++) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'star';
      b.dataset.value = String(stars * 2);
      b.setAttribute('role', 'radio');
      b.setAttribute('aria-label', 'At least ' + plural(stars, 'star'));
      b.title = 'At least ' + plural(stars, 'star');
      b.textContent = '★';
      box.append(b);
    }
    renderRatingInput();
  }

  function renderRatingInput() {
    const value = state.filters.minRating;
    const box = $('min-rating');
    box.dataset.value = String(value);
    box.querySelectorAll('button').forEach((b) => {
      const v = Number(b.dataset.value);
      const checked = v === value;
      b.setAttribute('aria-checked', String(checked));
      b.tabIndex = checked ? 0 : -1;
      if (b.classList.contains('star')) b.classList.toggle('on', value > 0 && v <= value);
    });
    $('min-rating-label').textContent = value === 10 ? '5 stars' : value > 0 ? value / 2 + '+ stars' : '';
  }

  function setMinRating(value, focus) {
    state.filters.minRating = value;
    filtersChanged();
    if (focus) {
      const target = $('min-rating').querySelector('[data-value="' + value + '"]');
      if (target) target.focus();
    }
  }

  function bindFilters() {
    buildRatingInput();

    $('genre-chips').addEventListener('click', (e) => {
      const chip = e.target.closest('.chip');
      if (!chip) return;
      toggleInSet(state.filters.genres, chip.dataset.genre);
      filtersChanged();
    });
    $('decade-chips').addEventListener('click', (e) => {
      const chip = e.target.closest('.chip');
      if (!chip) return;
      toggleInSet(state.filters.decades, chip.dataset.decade);
      filtersChanged();
    });
    $('genres-toggle').addEventListener('click', () => {
      state.showAllGenres = !state.showAllGenres;
      renderGenreChips();
    });
    $('genre-filter').addEventListener('input', (e) => {
      state.genreQuery = e.target.value;
      renderGenreChips();
    });

    const rating = $('min-rating');
    rating.addEventListener('click', (e) => {
      const b = e.target.closest('button');
      if (!b) return;
      const v = Number(b.dataset.value);
      // Clicking the current star again clears the filter.
      setMinRating(v === state.filters.minRating ? 0 : v, false);
    });
    rating.addEventListener('keydown', (e) => {
      const steps = { ArrowRight: 2, ArrowUp: 2, ArrowLeft: -2, ArrowDown: -2 };
      let next = null;
      if (e.key in steps) next = Math.min(10, Math.max(0, state.filters.minRating + steps[e.key]));
      else if (e.key === 'Home') next = 0;
      else if (e.key === 'End') next = 10;
      if (next === null) return;
      e.preventDefault();
      setMinRating(next, true);
    });

    $('exclude-live').addEventListener('change', (e) => {
      state.filters.excludeLive = e.target.checked;
      filtersChanged();
    });

    let searchTimer = 0;
    $('search').addEventListener('input', (e) => {
      clearTimeout(searchTimer);
      const value = e.target.value;
      searchTimer = setTimeout(() => {
        const q = value.trim();
        if (q === state.filters.q) return;
        state.filters.q = q;
        filtersChanged();
      }, SEARCH_DEBOUNCE_MS);
    });

    $('reset-filters').addEventListener('click', resetFilters);

    $('filters-toggle').addEventListener('click', () => {
      const open = !$('library').classList.contains('filters-open');
      $('library').classList.toggle('filters-open', open);
      $('filters-toggle').setAttribute('aria-expanded', String(open));
    });
  }

  async function loadStats() {
    try {
      state.stats = await api('GET', '/api/library/stats');
    } catch (err) {
      showError(err);
      return;
    }
    renderGenreChips();
    renderDecadeChips();
  }

  // ---------------------------------------------------------------- table (virtual scroll)

  const table = {
    total: null,
    answered: false,
    rowHeight: 40,
    generation: 0,
    pages: new Map(),
    stalePages: new Map(),
    inflight: new Map(),
    failed: new Set(),
    rows: [],
    renderQueued: false,
    fetchTimer: 0,
    range: { first: 0, last: -1 },
  };

  function readRowHeight() {
    const value = parseFloat(getComputedStyle(document.documentElement).getPropertyValue('--row-h'));
    return value > 0 ? value : 40;
  }

  function trackAt(index) {
    const page = Math.floor(index / PAGE_SIZE);
    const tracks = table.pages.get(page) || table.stalePages.get(page);
    return tracks ? tracks[index - page * PAGE_SIZE] || null : null;
  }

  function resetTable(opts) {
    table.generation++;
    table.inflight.forEach((controller) => controller.abort());
    table.inflight.clear();
    table.failed.clear();
    table.answered = false;
    if (opts.keepScroll) {
      // Keep showing the old rows until their fresh copies arrive.
      table.stalePages = table.pages;
    } else {
      // Back to the top, where the old first page stays on screen until the
      // new one arrives (a few ms): no flash of empty rows on every filter change.
      const first = table.pages.get(0) || table.stalePages.get(0);
      table.stalePages = first ? new Map([[0, first]]) : new Map();
      $('track-scroll').scrollTop = 0;
      state.lastClickedIndex = -1;
    }
    table.pages = new Map();
    $('match-count').classList.add('loading');
    renderRows();
    ensurePages(true);
  }

  function setTotal(total) {
    const changed = table.total !== total;
    table.total = total;
    $('match-count').textContent = fmtTracks(total);
    $('match-count').classList.remove('loading');
    if (!changed) return;
    $('track-rows').style.height = total * table.rowHeight + 'px';
    $('track-table').setAttribute('aria-rowcount', String(total + 1));
    renderEmptyState();
    scheduleRender();
  }

  function renderEmptyState() {
    const box = $('table-empty');
    const s = state.status;
    if (table.total !== 0) {
      box.hidden = true;
      return;
    }
    const action = $('table-empty-action');
    const libraryEmpty = s && s.track_count === 0;
    if (libraryEmpty) {
      $('table-empty-title').textContent = s.is_syncing ? 'Your library is on its way' : 'Your library is empty';
      $('table-empty-text').textContent = s.is_syncing
        ? 'Tracks appear here when the sync finishes.'
        : 'Sync with Plex to fill it.';
      action.textContent = 'Sync now';
      action.dataset.action = 'sync';
      action.hidden = !!s.is_syncing;
    } else {
      $('table-empty-title').textContent = 'No tracks match';
      $('table-empty-text').textContent = 'Try fewer genres or decades, a lower rating, or another search.';
      action.textContent = 'Reset filters';
      action.dataset.action = 'reset';
      action.hidden = activeFilterCount() === 0;
    }
    box.hidden = false;
  }

  function scheduleRender() {
    if (table.renderQueued) return;
    table.renderQueued = true;
    requestAnimationFrame(() => {
      table.renderQueued = false;
      renderRows();
    });
  }

  function createRow() {
    const row = document.createElement('div');
    row.className = 'tr';
    row.setAttribute('role', 'row');
    const cell = (cls) => {
      const c = document.createElement('div');
      c.className = 'td ' + cls;
      c.setAttribute('role', 'cell');
      row.append(c);
      return c;
    };
    const select = cell('col-select');
    const check = document.createElement('input');
    check.type = 'checkbox';
    check.className = 'row-check';
    select.append(check);
    const title = cell('col-title');
    const main = document.createElement('span');
    main.className = 'title-main';
    const sub = document.createElement('span');
    sub.className = 'title-sub';
    title.append(main, sub);
    const artist = cell('col-artist');
    const album = cell('col-album');
    const year = cell('col-year num');
    const genres = cell('col-genres');
    const rating = cell('col-rating');
    const stars = document.createElement('span');
    stars.className = 'stars';
    const fill = document.createElement('span');
    fill.className = 'stars-fill';
    stars.append(fill);
    rating.append(stars);
    const duration = cell('col-duration num');
    const plays = cell('col-plays num');
    row._cells = { check, title, main, sub, artist, album, year, genres, stars, duration, plays };
    row._index = -1;
    row._track = undefined;
    return row;
  }

  // Every missing value (no year, no length, no album...) reads the same: a
  // dash, named for screen readers. The server sorts missing values last in
  // both directions; nothing here depends on where they sort.
  function showValue(cell, text, missingLabel) {
    const missing = !text;
    cell.textContent = missing ? MISSING : text;
    cell.classList.toggle('missing', missing);
    if (missing) cell.setAttribute('aria-label', missingLabel);
    else cell.removeAttribute('aria-label');
  }

  function fillRow(row, index, track) {
    if (row._index !== index) {
      row._index = index;
      row.style.transform = 'translateY(' + index * table.rowHeight + 'px)';
      row.setAttribute('aria-rowindex', String(index + 2));
    }
    const c = row._cells;
    if (row._track !== track) {
      row._track = track;
      if (!track) {
        row.classList.add('skeleton');
        row.removeAttribute('data-rating-key');
        for (const key of ['main', 'sub', 'artist', 'album', 'year', 'genres', 'duration', 'plays']) {
          c[key].textContent = '';
          c[key].classList.remove('missing');
          c[key].removeAttribute('aria-label');
        }
        c.title.removeAttribute('title');
        c.artist.removeAttribute('title');
        c.album.removeAttribute('title');
        c.genres.removeAttribute('title');
        c.stars.classList.add('unrated');
        c.check.setAttribute('aria-label', 'Loading');
        c.check.disabled = true;
      } else {
        row.classList.remove('skeleton');
        row.dataset.ratingKey = track.rating_key;
        const title = track.title || 'Untitled';
        const artist = track.artist || track.album_artist || '';
        const album = track.album || '';
        const genres = (track.genres || []).join(', ');
        c.main.textContent = title;
        if (track.is_live) {
          const tag = document.createElement('span');
          tag.className = 'live-tag';
          tag.textContent = 'LIVE';
          c.main.append(tag);
        }
        c.sub.textContent = album ? artist + ' · ' + album : artist;
        c.title.title = title;
        showValue(c.artist, artist, 'No artist');
        c.artist.title = artist;
        showValue(c.album, album, 'No album');
        c.album.title = album;
        showValue(c.year, track.year == null ? '' : String(track.year), 'No year');
        showValue(c.genres, genres, 'No genre');
        c.genres.title = genres;
        const r = track.rating == null ? 0 : Math.max(0, Math.min(10, Math.round(track.rating)));
        c.stars.dataset.r = String(r);
        c.stars.classList.toggle('unrated', r === 0);
        c.stars.setAttribute('role', 'img');
        c.stars.setAttribute('aria-label', starsLabel(track.rating));
        showValue(c.duration, fmtDuration(track.duration_ms), 'Unknown length');
        const plays = Number(track.play_count) || 0;
        c.plays.textContent = fmtInt(plays);
        c.plays.classList.toggle('zero', plays === 0);
        c.check.disabled = false;
        c.check.setAttribute('aria-label', 'Select ' + title + (artist ? ' by ' + artist : ''));
      }
    }
    const selected = !!track && state.selection.has(track.rating_key);
    if (c.check.checked !== selected) c.check.checked = selected;
    row.classList.toggle('selected', selected);
  }

  function renderRows() {
    const scroller = $('track-scroll');
    const body = $('track-rows');
    const total = table.total || 0;
    const rowH = table.rowHeight;
    const top = scroller.scrollTop;
    const viewH = Math.max(scroller.clientHeight, rowH);
    const first = Math.max(0, Math.floor(top / rowH) - OVERSCAN_ROWS);
    const last = Math.min(total - 1, Math.ceil((top + viewH) / rowH) + OVERSCAN_ROWS);
    const count = Math.max(0, last - first + 1);
    table.range = { first: first, last: last };

    while (table.rows.length < count) {
      const row = createRow();
      table.rows.push(row);
      body.append(row);
    }
    const pool = table.rows.length;
    const used = new Set();
    for (let index = first; index <= last; index++) {
      // A row keeps the same element while it stays on screen, so scrolling
      // touches only the rows that enter the viewport.
      const row = table.rows[index % pool];
      used.add(row);
      row.hidden = false;
      fillRow(row, index, trackAt(index));
    }
    table.rows.forEach((row) => {
      if (!used.has(row)) {
        row.hidden = true;
        row._index = -1;
      }
    });
    renderSelectAll();
    ensurePages(false);
  }

  function neededPages() {
    const { first, last } = table.range;
    // Until this generation has an answer, page 0 at least tells the total.
    if (last < first) return table.answered ? [] : [0];
    const pages = [];
    for (let p = Math.floor(first / PAGE_SIZE); p <= Math.floor(last / PAGE_SIZE); p++) pages.push(p);
    return pages;
  }

  // While the user drags the scrollbar across thousands of rows, only the
  // pages where the scroll settles are fetched.
  function ensurePages(immediate) {
    clearTimeout(table.fetchTimer);
    const run = () => {
      const wanted = neededPages();
      const keep = new Set();
      wanted.forEach((p) => {
        keep.add(p - 1);
        keep.add(p);
        keep.add(p + 1);
      });
      table.inflight.forEach((controller, page) => {
        if (!keep.has(page)) {
          controller.abort();
          table.inflight.delete(page);
        }
      });
      wanted.forEach((p) => {
        if (!table.pages.has(p) && !table.inflight.has(p) && !table.failed.has(p)) loadPage(p);
      });
    };
    if (immediate || !table.answered) run();
    else table.fetchTimer = setTimeout(run, 60);
  }

  async function loadPage(page) {
    const generation = table.generation;
    const controller = new AbortController();
    table.inflight.set(page, controller);
    const params = filterQuery();
    params.set('sort', state.sort.key);
    params.set('order', state.sort.order);
    params.set('offset', String(page * PAGE_SIZE));
    params.set('limit', String(PAGE_SIZE));
    try {
      const result = await api('GET', '/api/library/tracks?' + params.toString(), { signal: controller.signal });
      if (generation !== table.generation) return;
      const tracks = Array.isArray(result.tracks) ? result.tracks : [];
      table.pages.set(page, tracks);
      table.stalePages.delete(page);
      notePositions(tracks, page * PAGE_SIZE, generation);
      table.answered = true;
      trimPageCache();
      setTotal(Number(result.total) || 0);
      scheduleRender();
    } catch (err) {
      if (isAbort(err) || generation !== table.generation) return;
      table.failed.add(page);
      if (table.stalePages.delete(page)) scheduleRender();
      if (table.total === null) {
        $('match-count').textContent = 'Couldn’t load tracks';
        $('match-count').classList.remove('loading');
      }
      showError(err);
    } finally {
      if (table.inflight.get(page) === controller) table.inflight.delete(page);
    }
  }

  function trimPageCache() {
    if (table.pages.size <= MAX_CACHED_PAGES) return;
    const centre = Math.floor((table.range.first + table.range.last) / 2 / PAGE_SIZE);
    const byDistance = Array.from(table.pages.keys()).sort((a, b) => Math.abs(b - centre) - Math.abs(a - centre));
    while (table.pages.size > MAX_CACHED_PAGES) table.pages.delete(byDistance.shift());
  }

  function loadedTracks() {
    const tracks = [];
    table.pages.forEach((page) => page.forEach((t) => tracks.push(t)));
    return tracks;
  }

  function onResize() {
    const height = readRowHeight();
    if (height !== table.rowHeight) {
      const scroller = $('track-scroll');
      const firstVisible = Math.floor(scroller.scrollTop / table.rowHeight);
      table.rowHeight = height;
      table.rows.forEach((row) => {
        row._index = -1;
      });
      if (table.total !== null) $('track-rows').style.height = table.total * height + 'px';
      scroller.scrollTop = firstVisible * height;
    }
    scheduleRender();
  }

  function setSort(key) {
    if (state.sort.key === key) {
      state.sort.order = state.sort.order === 'asc' ? 'desc' : 'asc';
    } else {
      state.sort.key = key;
      state.sort.order = key === 'rating' || key === 'plays' ? 'desc' : 'asc';
    }
    renderSortHeaders();
    resetTable({ keepScroll: false });
  }

  function renderSortHeaders() {
    document.querySelectorAll('#track-table .sort-button').forEach((button) => {
      const header = button.parentElement;
      const active = button.dataset.sort === state.sort.key;
      header.setAttribute('aria-sort', active ? (state.sort.order === 'asc' ? 'ascending' : 'descending') : 'none');
    });
  }

  // ---------------------------------------------------------------- selection

  function renderSelection() {
    const n = state.selection.size;
    $('selection-count').textContent = n ? fmtInt(n) + ' selected' : '';
    $('clear-selection').hidden = n === 0;
    table.rows.forEach((row) => {
      if (row._index >= 0 && !row.hidden) fillRow(row, row._index, row._track);
    });
    renderSelectAll();
  }

  function renderSelectAll() {
    const box = $('select-all');
    const tracks = loadedTracks();
    let selected = 0;
    tracks.forEach((t) => {
      if (state.selection.has(t.rating_key)) selected++;
    });
    box.disabled = tracks.length === 0;
    box.checked = tracks.length > 0 && selected === tracks.length;
    box.indeterminate = selected > 0 && selected < tracks.length;
    const label = 'Select all ' + fmtInt(tracks.length) + ' loaded tracks';
    box.setAttribute('aria-label', label);
    box.title = label;
  }

  function selectRow(key, index) {
    state.selection.set(key, { generation: table.generation, index: index });
  }

  // Selected rows of a freshly loaded page learn their place in the list.
  function notePositions(tracks, offset, generation) {
    if (state.selection.size === 0) return;
    tracks.forEach((t, i) => {
      if (state.selection.has(t.rating_key)) state.selection.set(t.rating_key, { generation: generation, index: offset + i });
    });
  }

  // The selected rating keys in the table's current order. Rows whose place
  // in this list is not known (a sort or a sync since they were ticked, and
  // their page not loaded since) are looked up page by page. Rows the list
  // no longer has (gone from Plex after a sync) come last; Plex skips them.
  async function selectionInTableOrder() {
    const generation = table.generation;
    const missing = new Set();
    state.selection.forEach((pos, key) => {
      if (pos.generation !== generation) missing.add(key);
    });
    const LOOKUP_PAGE = 1000;
    for (let offset = 0; missing.size > 0; offset += LOOKUP_PAGE) {
      const params = filterQuery();
      params.set('sort', state.sort.key);
      params.set('order', state.sort.order);
      params.set('offset', String(offset));
      params.set('limit', String(LOOKUP_PAGE));
      const result = await api('GET', '/api/library/tracks?' + params.toString());
      if (generation !== table.generation) throw new Error('The list changed while saving. Save again.');
      const tracks = Array.isArray(result.tracks) ? result.tracks : [];
      tracks.forEach((t) => missing.delete(t.rating_key));
      notePositions(tracks, offset, generation);
      if (tracks.length < LOOKUP_PAGE) break;
    }
    const place = (pos) => (pos.generation === generation ? pos.index : Infinity);
    return Array.from(state.selection.entries())
      .sort((a, b) => place(a[1]) - place(b[1]))
      .map((entry) => entry[0]);
  }

  function toggleRowSelection(index, rangeSelect) {
    const track = trackAt(index);
    if (!track) return;
    const select = !state.selection.has(track.rating_key);
    if (rangeSelect && state.lastClickedIndex >= 0) {
      const from = Math.min(state.lastClickedIndex, index);
      const to = Math.max(state.lastClickedIndex, index);
      for (let i = from; i <= to; i++) {
        const t = trackAt(i);
        if (!t) continue;
        if (select) selectRow(t.rating_key, i);
        else state.selection.delete(t.rating_key);
      }
    } else if (select) {
      selectRow(track.rating_key, index);
    } else {
      state.selection.delete(track.rating_key);
    }
    state.lastClickedIndex = index;
    renderSelection();
  }

  function bindTable() {
    table.rowHeight = readRowHeight();
    $('track-scroll').addEventListener('scroll', scheduleRender, { passive: true });
    window.addEventListener('resize', onResize);

    // Shift-click selects a range of rows, on a checkbox or anywhere on a
    // row: the browser must not start or extend a text selection for it.
    $('track-rows').addEventListener('mousedown', (e) => {
      if (e.shiftKey && e.button === 0 && e.target.closest('.tr')) e.preventDefault();
    });
    $('track-rows').addEventListener('click', (e) => {
      const row = e.target.closest('.tr');
      if (!row || row._index < 0 || !row._track) return;
      const onCheck = e.target.classList.contains('row-check');
      const text = window.getSelection();
      // A plain click on the row itself toggles too, unless the user was
      // selecting text; a shift-click always selects rows.
      if (!onCheck && !e.shiftKey && String(text)) return;
      if (e.shiftKey && text && !text.isCollapsed) text.removeAllRanges();
      if (!onCheck) e.preventDefault();
      toggleRowSelection(row._index, e.shiftKey);
    });

    $('select-all').addEventListener('change', () => {
      const tracks = loadedTracks();
      const allSelected = tracks.length > 0 && tracks.every((t) => state.selection.has(t.rating_key));
      table.pages.forEach((page, p) => {
        page.forEach((t, i) => {
          if (allSelected) state.selection.delete(t.rating_key);
          else selectRow(t.rating_key, p * PAGE_SIZE + i);
        });
      });
      renderSelection();
    });

    $('clear-selection').addEventListener('click', () => {
      state.selection.clear();
      state.lastClickedIndex = -1;
      renderSelection();
    });

    document.querySelectorAll('#track-table .sort-button').forEach((button) => {
      button.addEventListener('click', () => setSort(button.dataset.sort));
    });

    $('table-empty-action').addEventListener('click', (e) => {
      if (e.currentTarget.dataset.action === 'sync') startSync();
      else resetFilters();
    });

    renderSortHeaders();
    renderSelection();
  }

  // ---------------------------------------------------------------- library loading

  function loadLibrary() {
    state.libraryLoaded = true;
    loadStats();
    resetTable({ keepScroll: false });
  }

  // After a sync: new data, same filters, same scroll position.
  function reloadLibrary() {
    loadStats();
    resetTable({ keepScroll: true });
  }

  // ---------------------------------------------------------------- views

  // Plex is known to be unreachable when the probe failed and said why. A
  // false without a cause means "not probed yet": the status may answer a
  // boolean before the first probe.
  function plexOffline(s) {
    return s.plex_connected === false && !!s.plex_error;
  }

  function plexUnknown(s) {
    return s.plex_connected == null || (s.plex_connected === false && !s.plex_error);
  }

  function chooseView(s) {
    if (s.is_syncing || s.track_count > 0) return 'library';
    if (!s.configured) return 'first-run';
    if (plexOffline(s) || s.error) return 'error';
    return 'library';
  }

  function showView(view) {
    if (state.view === view) return;
    state.view = view;
    $('loading-screen').hidden = view !== 'loading';
    $('first-run').hidden = view !== 'first-run';
    $('error-screen').hidden = view !== 'error';
    $('library').hidden = view !== 'library';
    if (view === 'library') {
      onResize();
      if (!state.libraryLoaded) loadLibrary();
    }
  }

  const ERROR_HELP = {
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

  function guessErrorKind(message) {
    const m = String(message || '');
    if (/certificate|\btls\b|\bssl\b/i.test(m)) return 'tls';
    if (/timed? ?out|timeout/i.test(m)) return 'timeout';
    if (/refused|unreachable|resolve|dns|no route|connection|connect to/i.test(m)) return 'unreachable';
    if (/\b401\b|\b403\b|rejected|unauthori[sz]ed/i.test(m)) return 'token_rejected';
    if (/no music/i.test(m)) return 'not_music';
    return null;
  }

  function renderErrorScreen(s) {
    const probeFailed = s.plex_connected === false && s.plex_error;
    const message = probeFailed ? s.plex_error : s.error || s.plex_error || 'Plex did not answer.';
    let kind = probeFailed ? guessErrorKind(s.plex_error) || s.error_kind : s.error_kind || guessErrorKind(message);
    if (!ERROR_HELP[kind]) kind = plexOffline(s) ? 'unreachable' : 'server_error';
    $('error-title').textContent = ERROR_HELP[kind].title;
    $('error-help').textContent = ERROR_HELP[kind].help;
    $('error-message').textContent = message;
    // When only a settings change can help, that is the main button.
    const settingsFirst = ['token_rejected', 'not_found', 'not_configured', 'tls', 'bad_response'].includes(kind);
    $('retry').className = 'button large ' + (settingsFirst ? 'secondary' : 'primary');
    $('error-settings').className = 'button large ' + (settingsFirst ? 'primary' : 'secondary');
  }

  // ---------------------------------------------------------------- status, footer, sync modal

  const poll = { timer: 0, running: false, again: false, failures: 0 };

  async function pollStatus() {
    if (poll.running) {
      poll.again = true;
      return;
    }
    poll.running = true;
    clearTimeout(poll.timer);
    try {
      let s = null;
      try {
        s = await api('GET', '/api/library/status');
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
      } else {
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

  function pollSoon() {
    clearTimeout(poll.timer);
    poll.timer = setTimeout(pollStatus, 150);
  }

  function applyStatus(s) {
    const prev = state.status;
    const wasLoaded = state.libraryLoaded;
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
      const dataChanged = prev.synced_at !== s.synced_at || prev.track_count !== s.track_count;
      if (syncEnded || dataChanged) reloadLibrary();
      if (syncEnded && !s.error && !prev.blocking) {
        showToast('Library updated · ' + fmtTracks(s.track_count), 'success');
      }
    }
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

  async function startSync(opts) {
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

  function renderServerName(s) {
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

  function syncPercent(progress) {
    if (!progress || !(progress.total > 0)) return null;
    return Math.max(0, Math.min(100, Math.floor((progress.current / progress.total) * 100)));
  }

  // Hidden parts of the footer also lose their text, so the footer's text is
  // exactly what is on screen.
  function showText(el, text) {
    el.hidden = !text;
    if (el.textContent !== (text || '')) el.textContent = text || '';
  }

  function renderFooter(s) {
    const stateText = $('footer-state');
    const progressBox = $('footer-progress');
    let stateLabel = '';
    let stateClass = '';
    let action = '';
    let why = false;
    let srText = '';
    let title = '';

    if (s.is_syncing) {
      const pct = syncPercent(s.sync_progress);
      stateLabel = pct === null ? 'Syncing…' : 'Syncing… ' + pct + '%';
      stateClass = 'syncing';
      progressBox.classList.toggle('indeterminate', pct === null);
      $('footer-bar').style.width = (pct || 0) + '%';
      // Screen readers hear progress in steps of 10 % rather than every poll.
      srText = pct === null ? 'Syncing' : 'Syncing, ' + Math.floor(pct / 10) * 10 + ' percent';
    } else if (!s.configured && s.track_count === 0) {
      stateLabel = 'Not connected to Plex';
    } else if (s.error) {
      stateLabel = 'Sync failed';
      stateClass = 'failed';
      action = 'Retry';
      why = true;
      $('error-detail-text').textContent = s.error;
    } else if (!s.synced_at) {
      stateLabel = 'Not synced';
      action = 'Sync now';
    } else {
      const age = s.age_s != null ? s.age_s : (Date.now() - Date.parse(s.synced_at)) / 1000;
      stateLabel = 'Synced ' + fmtAgo(age);
      const when = new Date(s.synced_at);
      if (!isNaN(when)) title = 'Last synced ' + fmtDateTime(when);
      action = 'Refresh';
    }

    document.title = s.is_syncing ? stateLabel + ' · plexcache' : 'plexcache';
    showText($('footer-count'), s.track_count > 0 || s.synced_at ? fmtTracks(s.track_count) : '');
    stateText.textContent = stateLabel;
    stateText.className = 'footer-state' + (stateClass ? ' ' + stateClass : '');
    if (title) stateText.title = title;
    else stateText.removeAttribute('title');
    if (srText) stateText.setAttribute('aria-hidden', 'true');
    else stateText.removeAttribute('aria-hidden');
    progressBox.hidden = !s.is_syncing;
    showText($('footer-sr'), srText);
    showText($('refresh'), action);
    showText($('error-why'), why ? 'Why?' : '');
    if (!why) closeErrorDetail();

    const offline = $('plex-offline');
    showText(offline, plexOffline(s) ? 'Plex offline' : '');
    if (plexOffline(s)) offline.title = s.plex_error;
  }

  function renderUnreachable() {
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

  const PHASES = ['connecting', 'artists', 'albums', 'tracks', 'saving'];
  const PHASE_LABELS = {
    connecting: 'Connecting',
    artists: 'Reading artists',
    albums: 'Reading albums',
    tracks: 'Reading tracks',
    saving: 'Saving',
  };

  function renderSyncModal(s) {
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

  function bindFooter() {
    $('refresh').addEventListener('click', () => startSync());
    $('error-why').addEventListener('click', () => {
      if ($('error-detail').hidden) openErrorDetail();
      else closeErrorDetail();
    });
    $('error-detail-close').addEventListener('click', () => {
      closeErrorDetail();
      $('error-why').focus();
    });
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) pollSoon();
    });
  }

  // ---------------------------------------------------------------- dialogs

  function focusableIn(container) {
    return Array.from(
      container.querySelectorAll(
        'button, [href], input, select, textarea, [tabindex]:not([tabindex="-1"])'
      )
    ).filter((el) => !el.disabled && !el.hidden && el.offsetParent !== null && el.tabIndex >= 0);
  }

  function openDialog(dialog, opts) {
    dialog._closable = !(opts && opts.closable === false);
    dialog._returnFocus = document.activeElement;
    dialog.showModal();
    const target = (opts && opts.focus) || (dialog._closable ? focusableIn(dialog)[0] : dialog);
    if (target) target.focus();
  }

  function closeDialog(dialog) {
    if (!dialog.open) return;
    dialog._closing = true;
    dialog.close();
    dialog._closing = false;
    const back = dialog._returnFocus;
    if (back && document.contains(back) && typeof back.focus === 'function') back.focus();
  }

  function topDialog() {
    const open = Array.from(document.querySelectorAll('dialog[open]'));
    return open[open.length - 1] || null;
  }

  function bindDialogs() {
    document.querySelectorAll('dialog').forEach((dialog) => {
      dialog.addEventListener('cancel', (e) => {
        e.preventDefault();
        if (dialog._closable) closeDialog(dialog);
      });
      // The browser may still close a dialog on repeated Escape presses;
      // the sync modal stays up for as long as the server says so.
      dialog.addEventListener('close', () => {
        if (!dialog._closing && !dialog._closable && state.status && state.status.is_syncing && state.status.blocking) {
          dialog.showModal();
          dialog.focus();
        }
      });
      dialog.querySelectorAll('[data-close]').forEach((button) => {
        button.addEventListener('click', () => closeDialog(dialog));
      });
    });

    document.addEventListener('keydown', (e) => {
      const dialog = topDialog();
      if (e.key === 'Escape') {
        if (dialog) {
          e.preventDefault();
          if (dialog._closable) closeDialog(dialog);
        } else if (!$('error-detail').hidden) {
          closeErrorDetail();
          $('error-why').focus();
        }
        return;
      }
      if (e.key !== 'Tab' || !dialog) return;
      const items = focusableIn(dialog);
      if (items.length === 0) {
        e.preventDefault();
        dialog.focus();
        return;
      }
      const first = items[0];
      const last = items[items.length - 1];
      if (e.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && (document.activeElement === last || !dialog.contains(document.activeElement))) {
        e.preventDefault();
        first.focus();
      }
    });
  }

  // ---------------------------------------------------------------- playlist dialog

  function suggestPlaylistTitle() {
    const f = state.filters;
    const parts = Array.from(f.genres).concat(Array.from(f.decades));
    if (f.q) parts.push(f.q);
    return parts.length ? parts.join(' · ') : 'My mix';
  }

  function openPlaylistDialog() {
    const dialog = $('playlist-dialog');
    const selected = state.selection.size;
    $('playlist-selected-count').textContent = fmtInt(selected);
    $('playlist-selected-noun').textContent = selected === 1 ? 'selected track' : 'selected tracks';
    const bySelection = $('playlist-mode-selected');
    bySelection.disabled = selected === 0;
    bySelection.checked = selected > 0;
    $('playlist-mode-sample').checked = selected === 0;
    const matches = table.total == null ? '' : fmtTracks(table.total) + ' match: ';
    $('playlist-filter-summary').textContent = matches + describeFilters();
    $('playlist-title').value = suggestPlaylistTitle();
    $('playlist-title').removeAttribute('aria-invalid');
    $('playlist-result').hidden = true;
    $('playlist-result').textContent = '';
    $('playlist-submit').disabled = false;
    $('playlist-submit').textContent = 'Save playlist';
    $('playlist-cancel').textContent = 'Cancel';
    openDialog(dialog, { focus: $('playlist-title') });
    $('playlist-title').select();
  }

  function showPlaylistResult(kind, nodes) {
    const box = $('playlist-result');
    box.className = 'result' + (kind === 'error' ? ' error' : '');
    box.replaceChildren.apply(box, nodes);
    box.hidden = false;
  }

  async function submitPlaylist(e) {
    e.preventDefault();
    const titleInput = $('playlist-title');
    const title = titleInput.value.trim();
    if (!title) {
      titleInput.setAttribute('aria-invalid', 'true');
      showPlaylistResult('error', ['Give the playlist a title.']);
      titleInput.focus();
      return;
    }
    titleInput.removeAttribute('aria-invalid');
    let body;
    const submit = $('playlist-submit');
    if ($('playlist-mode-selected').checked) {
      submit.disabled = true;
      submit.textContent = 'Saving…';
      try {
        body = { title: title, rating_keys: await selectionInTableOrder() };
      } catch (err) {
        showPlaylistResult('error', [err.detail || err.message || 'The playlist could not be saved.']);
        submit.textContent = 'Save playlist';
        submit.disabled = false;
        return;
      }
    } else {
      const size = Math.round(Number($('playlist-sample-size').value));
      if (!(size >= 1 && size <= 5000)) {
        showPlaylistResult('error', ['Choose a sample of 1 to 5,000 tracks.']);
        $('playlist-sample-size').focus();
        return;
      }
      body = { title: title, filter: filterBody(), sample_size: size };
    }
    submit.disabled = true;
    submit.textContent = 'Saving…';
    try {
      const result = await api('POST', '/api/playlists', { body: body });
      const name = (result.playlist && result.playlist.title) || title;
      const added = Number(result.added) || 0;
      const skipped = Number(result.skipped) || 0;
      const strong = document.createElement('strong');
      strong.textContent = '"' + name + '"';
      const nodes = ['Added ' + fmtTracks(added) + ' to ', strong, '.'];
      if (skipped > 0) nodes.push(' ' + fmtInt(skipped) + ' skipped (no longer in Plex).');
      showPlaylistResult('success', nodes);
      $('playlist-cancel').textContent = 'Done';
      submit.textContent = 'Save again';
      $('playlist-cancel').focus();
    } catch (err) {
      showPlaylistResult('error', [err.detail || 'The playlist could not be saved.']);
      submit.textContent = 'Save playlist';
    } finally {
      submit.disabled = false;
    }
  }

  function bindPlaylistDialog() {
    $('save-playlist').addEventListener('click', openPlaylistDialog);
    $('playlist-form').addEventListener('submit', submitPlaylist);
    const sampleSize = $('playlist-sample-size');
    const pickSample = () => {
      $('playlist-mode-sample').checked = true;
    };
    sampleSize.addEventListener('focus', pickSample);
    sampleSize.addEventListener('input', pickSample);
  }

  // ---------------------------------------------------------------- settings dialog

  const SETTINGS_FIELDS = {
    plex_url: 'settings-url',
    plex_token: 'settings-token',
    sections: 'settings-sections',
    refresh_age_hours: 'settings-refresh-age',
  };

  function clearSettingsErrors() {
    Object.keys(SETTINGS_FIELDS).forEach((field) => {
      const input = $(SETTINGS_FIELDS[field]);
      const error = $(SETTINGS_FIELDS[field] + '-error');
      input.removeAttribute('aria-invalid');
      error.hidden = true;
      error.textContent = '';
      const hint = input.getAttribute('data-hint-id');
      if (hint) input.setAttribute('aria-describedby', hint);
    });
    $('settings-error').hidden = true;
    $('settings-error').textContent = '';
  }

  // Technical wording a person should not have to read first; it goes
  // behind "Why?" and a sentence about the situation is shown instead.
  const TECHNICAL = /os error \d+|error sending request|error trying to connect|tcp connect|dns error|failed to lookup|invalid type:|expected .+ at line \d+|relative URL without a base|hyper::|reqwest::/i;

  function plainSettingsSentence(field, text) {
    const t = String(text || '');
    if (field === 'plex_token') return 'Plex did not accept this token. Check it, or get a fresh one from Plex Web.';
    if (field === 'sections') return 'A music library chosen here is not on this Plex server. Choose again.';
    if (/timed? ?out|timeout/i.test(t)) {
      return 'The server at this address did not answer in time. Check the address and that Plex is running.';
    }
    if (/certificate|\btls\b|\bssl\b/i.test(t)) {
      return 'The server’s certificate is not trusted. Use the http address, or accept a self-signed certificate below.';
    }
    if (/resolve|dns|lookup/i.test(t)) return 'No computer has this name on your network. Check the address.';
    if (/refused/i.test(t)) {
      return 'Nothing answers at this address: the connection was refused. Is Plex running, and is the port right (usually 32400)?';
    }
    if (field === 'plex_url' || /connect/i.test(t)) {
      return 'plexcache could not connect to a Plex server at this address. Check the address and the port (usually 32400), and that Plex is running.';
    }
    return 'The settings could not be checked.';
  }

  // An error answer as { sentence, detail }: the sentence for the person,
  // the technical cause (when the server sends one apart) for "Why?".
  function settingsErrorText(field, err) {
    const body = (err && err.body) || {};
    const str = (v) => (typeof v === 'string' && v.trim() ? v.trim() : null);
    let sentence = str(body.message) || str(err && err.detail) || 'The settings could not be saved.';
    let detail = str(body.technical_detail) || str(body.technical) || str(body.cause);
    if (!detail && str(body.message) && str(body.detail) && str(body.detail) !== sentence) detail = str(body.detail);
    if (!detail && TECHNICAL.test(sentence)) {
      detail = sentence;
      sentence = plainSettingsSentence(field, sentence);
    }
    return { sentence: sentence, detail: detail && detail !== sentence ? detail : null };
  }

  // Fills an error box: the sentence, and a "Why?" button opening the detail.
  function fillErrorBox(box, text) {
    const sentence = document.createElement('span');
    sentence.className = 'error-text';
    sentence.textContent = text.sentence;
    const nodes = [sentence];
    if (text.detail) {
      const why = document.createElement('button');
      why.type = 'button';
      why.className = 'link-button small why';
      why.textContent = 'Why?';
      why.setAttribute('aria-expanded', 'false');
      const detail = document.createElement('span');
      detail.className = 'why-detail';
      detail.id = box.id + '-detail';
      detail.hidden = true;
      detail.textContent = text.detail;
      why.setAttribute('aria-controls', detail.id);
      why.addEventListener('click', () => {
        detail.hidden = !detail.hidden;
        why.setAttribute('aria-expanded', String(!detail.hidden));
      });
      nodes.push(' ', why, detail);
    }
    box.replaceChildren.apply(box, nodes);
  }

  function showSettingsError(field, errOrText) {
    const text = typeof errOrText === 'string' ? { sentence: errOrText, detail: null } : settingsErrorText(field, errOrText);
    const id = SETTINGS_FIELDS[field];
    if (!id) {
      fillErrorBox($('settings-error'), text);
      $('settings-error').hidden = false;
      return;
    }
    const input = $(id);
    const error = $(id + '-error');
    fillErrorBox(error, text);
    error.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    const hint = input.getAttribute('data-hint-id');
    input.setAttribute('aria-describedby', (hint ? hint + ' ' : '') + error.id);
    const focusTarget = input.tagName === 'FIELDSET' ? input.querySelector('input') : input;
    if (focusTarget) focusTarget.focus();
  }

  function fillSettingsForm(settings) {
    state.settings = settings;
    $('settings-url').value = settings.plex_url || '';
    const token = $('settings-token');
    token.value = '';
    token.placeholder = settings.token_set ? '•••••• (set)' : 'Paste your Plex token';
    $('settings-refresh-age').value = settings.refresh_age_hours == null ? '' : String(settings.refresh_age_hours);
    $('settings-insecure').checked = !!settings.accept_invalid_certs;

    const list = $('settings-sections-list');
    const chosen = new Set((settings.sections || []).map(String));
    const available = settings.available_sections || [];
    const fragment = document.createDocumentFragment();
    available.forEach((section) => {
      const label = document.createElement('label');
      label.className = 'check-row';
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.value = String(section.key);
      box.checked = chosen.has(String(section.key));
      const text = document.createElement('span');
      text.textContent = section.title || 'Section ' + section.key;
      label.append(box, text);
      fragment.append(label);
    });
    list.replaceChildren(fragment);
    $('settings-sections-hint').textContent = available.length
      ? 'None checked caches every music library.'
      : 'Your music libraries appear here once plexcache has connected to Plex. Until then every music library is cached.';
  }

  async function openSettingsDialog() {
    const dialog = $('settings-dialog');
    clearSettingsErrors();
    $('settings-loading').hidden = false;
    $('settings-fields').hidden = true;
    $('settings-save').disabled = true;
    openDialog(dialog);
    try {
      const settings = await api('GET', '/api/settings');
      fillSettingsForm(settings);
      $('settings-fields').hidden = false;
      $('settings-save').disabled = false;
      $('settings-url').focus();
    } catch (err) {
      showSettingsError(null, err.detail || 'Settings could not be loaded.');
    } finally {
      $('settings-loading').hidden = true;
    }
  }

  function readSettingsForm() {
    const body = {};
    body.plex_url = $('settings-url').value.trim();
    const token = $('settings-token').value.trim();
    if (token) body.plex_token = token;
    const available = (state.settings && state.settings.available_sections) || [];
    if (available.length) {
      body.sections = Array.from($('settings-sections-list').querySelectorAll('input:checked')).map((b) => b.value);
    }
    const ageText = $('settings-refresh-age').value.trim();
    if (ageText !== '') {
      const age = Number(ageText);
      if (!(age > 0) || !Number.isInteger(age)) return { error: ['refresh_age_hours', 'Enter a whole number of hours, 1 or more.'] };
      body.refresh_age_hours = age;
    }
    body.accept_invalid_certs = $('settings-insecure').checked;
    return { body: body };
  }

  async function submitSettings(e) {
    e.preventDefault();
    if (settingsCheck.controller) return;
    clearSettingsErrors();
    const form = readSettingsForm();
    if (form.error) {
      showSettingsError(form.error[0], form.error[1]);
      return;
    }
    await checkAndSaveSettings(form.body);
  }

  async function checkAndSaveSettings(body) {
    const before = state.settings || {};
    // Checking connects to Plex and can take seconds: Cancel (or closing
    // the dialog) aborts the request, and the server drops the check.
    const controller = new AbortController();
    settingsCheck.controller = controller;
    setSettingsChecking(true);
    try {
      const saved = await api('PUT', '/api/settings', { body: body, signal: controller.signal });
      state.settings = saved;
      $('settings-token').value = '';
      closeDialog($('settings-dialog'));
      showToast('Settings saved', 'success');
      afterSettingsSaved(before, saved);
    } catch (err) {
      if (isAbort(err)) showSettingsError(null, 'Check cancelled. Nothing was saved.');
      else if (err.status === 400 && err.field) showSettingsError(err.field, err);
      else if (err.status === 409 && err.code === 'server_change_confirm') askServerChange(err, body);
      else showSettingsError(null, err);
    } finally {
      if (settingsCheck.controller === controller) settingsCheck.controller = null;
      setSettingsChecking(false);
    }
  }

  const settingsCheck = { controller: null };

  // The address leads to another Plex server than the one the cache came
  // from: saving drops the cached library, so the server asks first (409
  // server_change_confirm) and the page asks the person.
  function askServerChange(err, body) {
    const box = $('settings-error');
    fillErrorBox(box, settingsErrorText(null, err));
    const confirm = document.createElement('button');
    confirm.type = 'button';
    confirm.id = 'settings-confirm-server';
    confirm.className = 'button secondary small';
    confirm.textContent = 'Use this server';
    confirm.addEventListener('click', () => {
      clearSettingsErrors();
      checkAndSaveSettings(Object.assign({}, body, { confirm_server_change: true }));
    });
    box.append(' ', confirm);
    box.hidden = false;
    confirm.focus();
  }

  function setSettingsChecking(on) {
    const save = $('settings-save');
    save.disabled = on;
    save.textContent = on ? 'Checking connection…' : 'Save';
    $('settings-form').setAttribute('aria-busy', String(on));
    $('settings-cancel').textContent = on ? 'Cancel check' : 'Cancel';
  }

  function cancelSettingsCheck() {
    const controller = settingsCheck.controller;
    if (!controller) return false;
    settingsCheck.controller = null;
    controller.abort();
    return true;
  }

  // A new server, new sections or an empty cache need a sync; the status poll
  // then shows the modal or the footer progress.
  async function afterSettingsSaved(before, saved) {
    const sectionsChanged =
      JSON.stringify((before.sections || []).slice().sort()) !== JSON.stringify((saved.sections || []).slice().sort());
    let s;
    try {
      s = await api('GET', '/api/library/status');
    } catch (err) {
      pollSoon();
      return;
    }
    applyStatus(s);
    if (!s.is_syncing && s.configured && (s.server_changed || s.track_count === 0 || sectionsChanged || s.stale)) {
      await startSync({ quiet: true });
    } else {
      pollSoon();
    }
  }

  function bindSettingsDialog() {
    Object.keys(SETTINGS_FIELDS).forEach((field) => {
      const input = $(SETTINGS_FIELDS[field]);
      const hint = input.getAttribute('aria-describedby');
      if (hint) input.setAttribute('data-hint-id', hint);
    });
    $('settings-button').addEventListener('click', openSettingsDialog);
    $('first-run-settings').addEventListener('click', openSettingsDialog);
    $('error-settings').addEventListener('click', openSettingsDialog);
    $('settings-form').addEventListener('submit', submitSettings);
    // During a check, Cancel stops the check and keeps the dialog open to
    // fix the address; otherwise it closes the dialog.
    $('settings-cancel').addEventListener('click', () => {
      if (!cancelSettingsCheck()) closeDialog($('settings-dialog'));
    });
    $('settings-dialog').addEventListener('close', cancelSettingsCheck);
  }

  // ---------------------------------------------------------------- toasts and errors

  function showToast(message, kind) {
    const box = $('toasts');
    const type = kind || 'info';
    const existing = Array.from(box.children).find((t) => t._message === message);
    if (existing) existing.remove();
    const toast = document.createElement('div');
    toast.className = 'toast ' + type;
    toast._message = message;
    if (type === 'error') toast.setAttribute('role', 'alert');
    const text = document.createElement('p');
    text.textContent = message;
    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'icon-button small';
    close.setAttribute('aria-label', 'Dismiss');
    close.textContent = '×';
    close.addEventListener('click', () => toast.remove());
    toast.append(text, close);
    box.append(toast);
    while (box.children.length > 4) box.firstElementChild.remove();
    setTimeout(() => toast.remove(), type === 'error' ? 12000 : 4500);
  }

  function showError(err) {
    if (isAbort(err)) return;
    showToast((err && (err.detail || err.message)) || 'Something went wrong.', 'error');
  }

  // ---------------------------------------------------------------- start

  function bindScreens() {
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
  }

  function start() {
    bindFilters();
    bindTable();
    bindFooter();
    bindDialogs();
    bindPlaylistDialog();
    bindSettingsDialog();
    bindScreens();
    renderFilterState();
    pollStatus();
    // Most visits end in the library: ask for its first rows now rather than
    // after the status answer (the requests are cheap when it stays hidden).
    loadLibrary();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
