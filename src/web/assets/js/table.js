// The track table: a virtual scroll over the filtered, sorted list. Pages
// of PAGE_SIZE rows are fetched as they come into view and a few dozen are
// kept; only the rows on screen (plus an overscan) exist in the DOM, reused
// as the list scrolls. Emits `page-loaded` and `rows-rendered` for the
// selection, `sync-requested` and `reset-filters` from its empty state.

import { api, isAbort } from './api.js';
import { $ } from './dom.js';
import { MISSING, fmtDuration, fmtInt, fmtTracks, starsLabel } from './format.js';
import { activeFilterCount, nextSort, tracksQuery } from './query.js';
import { pagesInView, pagesToDrop, pagesWorthFetching } from './paging.js';
import { emit, state } from './state.js';
import { showError } from './toasts.js';

export const PAGE_SIZE = 100;
const MAX_CACHED_PAGES = 40;
const OVERSCAN_ROWS = 8;

export const table = {
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

export function trackAt(index) {
  const page = Math.floor(index / PAGE_SIZE);
  const tracks = table.pages.get(page) || table.stalePages.get(page);
  return tracks ? tracks[index - page * PAGE_SIZE] || null : null;
}

export function resetTable(opts) {
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

export function renderEmptyState() {
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
    action.hidden = activeFilterCount(state.filters) === 0;
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

export function fillRow(row, index, track) {
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
  emit('rows-rendered');
  ensurePages(false);
}

// While the user drags the scrollbar across thousands of rows, only the
// pages where the scroll settles are fetched.
function ensurePages(immediate) {
  clearTimeout(table.fetchTimer);
  const run = () => {
    const wanted = pagesInView(table.range, table.answered, PAGE_SIZE);
    const keep = pagesWorthFetching(wanted);
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
  const params = tracksQuery(state.filters, state.sort, page * PAGE_SIZE, PAGE_SIZE);
  try {
    const result = await api('GET', '/api/library/tracks?' + params.toString(), { signal: controller.signal });
    if (generation !== table.generation) return;
    const tracks = Array.isArray(result.tracks) ? result.tracks : [];
    table.pages.set(page, tracks);
    table.stalePages.delete(page);
    emit('page-loaded', { tracks: tracks, offset: page * PAGE_SIZE, generation: generation });
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
  const cached = Array.from(table.pages.keys());
  pagesToDrop(cached, table.range, PAGE_SIZE, MAX_CACHED_PAGES).forEach((p) => table.pages.delete(p));
}

export function loadedTracks() {
  const tracks = [];
  table.pages.forEach((page) => page.forEach((t) => tracks.push(t)));
  return tracks;
}

export function onResize() {
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
  const next = nextSort(state.sort, key);
  state.sort.key = next.key;
  state.sort.order = next.order;
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

export function bindTable() {
  table.rowHeight = readRowHeight();
  $('track-scroll').addEventListener('scroll', scheduleRender, { passive: true });
  window.addEventListener('resize', onResize);

  document.querySelectorAll('#track-table .sort-button').forEach((button) => {
    button.addEventListener('click', () => setSort(button.dataset.sort));
  });

  $('table-empty-action').addEventListener('click', (e) => {
    if (e.currentTarget.dataset.action === 'sync') emit('sync-requested');
    else emit('reset-filters');
  });

  renderSortHeaders();
}
