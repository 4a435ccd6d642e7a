// The page's screens: loading, first run, the error screen and the library.

import { $ } from './dom.js';
import { errorScreenText } from './health.js';
import { loadLibrary } from './library.js';
import { state } from './state.js';
import { onResize } from './table.js';

export function showView(view) {
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

export function renderErrorScreen(s) {
  const text = errorScreenText(s);
  $('error-title').textContent = text.title;
  $('error-help').textContent = text.help;
  $('error-message').textContent = text.message;
  $('retry').className = 'button large ' + (text.settingsFirst ? 'secondary' : 'primary');
  $('error-settings').className = 'button large ' + (text.settingsFirst ? 'primary' : 'secondary');
}
