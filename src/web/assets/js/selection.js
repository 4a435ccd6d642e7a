// The selection: ticked rows of the table, shift-click ranges, "select all
// loaded", and the selected rating keys in the table's order for a
// playlist. Each selected row remembers where it was last seen in the
// list (state.selection), learnt from `page-loaded`.

import { api } from './api.js';
import { $ } from './dom.js';
import { fmtInt } from './format.js';
import { tracksQuery } from './query.js';
import { on, state } from './state.js';
import { PAGE_SIZE, fillRow, loadedTracks, table, trackAt } from './table.js';
import { showToast } from './toasts.js';

// A filter change clears the selection. The selection is made of rows of
// the list on screen; a new filter lists other rows, and a selection kept
// across it would be saved although the user cannot see it (two 1961
// tracks saved as "2010s"). Which selected rows the new filter still lists
// is unknown without reading the whole list, so the page does not prune:
// it clears, and says so. A sort change keeps the selection (the same rows
// are listed, in another order).
export function clearSelectionForNewList() {
  const n = state.selection.size;
  if (n === 0) return;
  state.selection.clear();
  state.lastClickedIndex = -1;
  renderSelection();
  showToast('Selection cleared (' + fmtInt(n) + ' ' + (n === 1 ? 'track' : 'tracks') + '): the filter changed', 'info');
}

export function renderSelection() {
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
export async function selectionInTableOrder() {
  const generation = table.generation;
  const missing = new Set();
  state.selection.forEach((pos, key) => {
    if (pos.generation !== generation) missing.add(key);
  });
  const LOOKUP_PAGE = 1000;
  for (let offset = 0; missing.size > 0; offset += LOOKUP_PAGE) {
    const params = tracksQuery(state.filters, state.sort, offset, LOOKUP_PAGE);
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

export function bindSelection() {
  on('page-loaded', (page) => notePositions(page.tracks, page.offset, page.generation));
  on('rows-rendered', renderSelectAll);

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

  renderSelection();
}
