// The page's one state object, and the events its sections talk by. A
// section that must make another act, where importing it would close a
// cycle, emits an event here; the other section listens.
//
// Events (detail in parentheses):
//   filters-changed    a filter changed: the selection clears, the list reloads
//   reset-filters      asks the filter panel to reset every filter
//   sync-requested     asks for a sync ({ quiet } or undefined)
//   page-loaded        a page of tracks arrived ({ tracks, offset, generation })
//   rows-rendered      the table drew its visible rows

export const state = {
  status: null,
  view: 'loading',
  libraryLoaded: false,
  autoSyncTried: false,
  // When (ms) the event stream last told of a change in a toast; cleared
  // when a sync starts or ends.
  changeToldAt: 0,
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

const events = new EventTarget();

export function emit(type, detail) {
  events.dispatchEvent(new CustomEvent(type, { detail: detail }));
}

export function on(type, handler) {
  events.addEventListener(type, (e) => handler(e.detail));
}
