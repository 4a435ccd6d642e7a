// The "Save as Plex playlist" dialog: the selected rows in the table's
// order, or a random sample of the rows the filter matches.

import { api } from './api.js';
import { $ } from './dom.js';
import { openDialog } from './dialogs.js';
import { fmtInt, fmtTracks } from './format.js';
import { describeFilters, filterBody, suggestPlaylistTitle } from './query.js';
import { selectionInTableOrder } from './selection.js';
import { state } from './state.js';
import { table } from './table.js';

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
  $('playlist-filter-summary').textContent = matches + describeFilters(state.filters);
  $('playlist-title').value = suggestPlaylistTitle(state.filters);
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
    body = { title: title, filter: filterBody(state.filters), sample_size: size };
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

export function bindPlaylistDialog() {
  $('save-playlist').addEventListener('click', openPlaylistDialog);
  $('playlist-form').addEventListener('submit', submitPlaylist);
  const sampleSize = $('playlist-sample-size');
  const pickSample = () => {
    $('playlist-mode-sample').checked = true;
  };
  sampleSize.addEventListener('focus', pickSample);
  sampleSize.addEventListener('input', pickSample);
}
