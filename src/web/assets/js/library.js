// Loading the library into the page: its genre and decade counts and the
// first rows of the list.

import { loadStats } from './filters.js';
import { state } from './state.js';
import { resetTable } from './table.js';

export function loadLibrary() {
  state.libraryLoaded = true;
  loadStats();
  resetTable({ keepScroll: false });
}

// After a sync: new data, same filters, same scroll position.
export function reloadLibrary() {
  loadStats();
  resetTable({ keepScroll: true });
}
