// The filter panel: genre and decade chips, the minimum rating, live
// recordings, the search box and the genre list's own search. A change
// updates state.filters and emits `filters-changed`; the list and the
// selection follow it.

import { api } from './api.js';
import { $ } from './dom.js';
import { fmtInt, fmtTracks, foldText, plural } from './format.js';
import { activeFilterCount } from './query.js';
import { emit, on, state } from './state.js';
import { showError } from './toasts.js';

const SEARCH_DEBOUNCE_MS = 150;
const GENRES_COLLAPSED = 30;

// The list and the selection react to `filters-changed` (main.js wires them).
function filtersChanged() {
  renderFilterState();
  emit('filters-changed');
}

function toggleInSet(set, value) {
  if (set.has(value)) set.delete(value);
  else set.add(value);
}

export function resetFilters() {
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

export function renderFilterState() {
  const f = state.filters;
  document.querySelectorAll('#genre-chips .chip').forEach((chip) => {
    chip.setAttribute('aria-pressed', String(f.genres.has(chip.dataset.genre)));
  });
  document.querySelectorAll('#decade-chips .chip').forEach((chip) => {
    chip.setAttribute('aria-pressed', String(f.decades.has(chip.dataset.decade)));
  });
  renderRatingInput();
  const count = activeFilterCount(f);
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

export function bindFilters() {
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
  on('reset-filters', resetFilters);

  $('filters-toggle').addEventListener('click', () => {
    const open = !$('library').classList.contains('filters-open');
    $('library').classList.toggle('filters-open', open);
    $('filters-toggle').setAttribute('aria-expanded', String(open));
  });
}

export async function loadStats() {
  try {
    state.stats = await api('GET', '/api/library/stats');
  } catch (err) {
    showError(err);
    return;
  }
  renderGenreChips();
  renderDecadeChips();
}
