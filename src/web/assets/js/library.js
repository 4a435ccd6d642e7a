// Loading the library into the page: its genre and decade counts and the
// first rows of the list.

import { loadStats } from './filters.js';
import { state } from './state.js';
import { resetTable } from './table.js';

let reloads = 0;

export function loadLibrary() {
  state.libraryLoaded = true;
  loadStats();
  resetTable({ keepScroll: false });
}

// After a sync or a change: new data, same filters, same scroll position
// and selection; the old rows stay until their fresh copies arrive.
export function reloadLibrary() {
  reloads++;
  loadStats();
  resetTable({ keepScroll: true });
}

// How many times the library was reloaded (a caller tells whether another
// part did it meanwhile).
export function reloadCount() {
  return reloads;
}
