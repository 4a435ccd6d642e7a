// The filters and sort as query strings, JSON bodies and words.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  activeFilterCount,
  describeFilters,
  filterBody,
  filterQuery,
  nextSort,
  suggestPlaylistTitle,
  tracksQuery,
} from '../../src/web/assets/js/query.js';

function filters(over) {
  return { genres: new Set(), decades: new Set(), minRating: 0, excludeLive: true, q: '', ...over };
}

const busy = () =>
  filters({
    genres: new Set(['Rock', 'Hip-Hop & Rap']),
    decades: new Set(['1990s']),
    minRating: 6,
    excludeLive: false,
    q: 'love me',
  });

test('the default filter sends only exclude_live', () => {
  assert.equal(filterQuery(filters()).toString(), 'exclude_live=true');
  assert.deepEqual(filterBody(filters()), { exclude_live: true });
  assert.equal(activeFilterCount(filters()), 0);
});

test('every filter reaches the query string, encoded', () => {
  assert.equal(
    filterQuery(busy()).toString(),
    'genres=Rock%2CHip-Hop+%26+Rap&decades=1990s&min_rating=6&exclude_live=false&q=love+me',
  );
  const params = filterQuery(busy());
  assert.equal(params.get('genres'), 'Rock,Hip-Hop & Rap');
  assert.equal(params.get('q'), 'love me');
});

test('a page of the list adds sort, order, offset and limit', () => {
  const params = tracksQuery(filters({ minRating: 2 }), { key: 'year', order: 'desc' }, 300, 100);
  assert.equal(params.toString(), 'min_rating=2&exclude_live=true&sort=year&order=desc&offset=300&limit=100');
});

test('the JSON body carries lists and numbers', () => {
  assert.deepEqual(filterBody(busy()), {
    exclude_live: false,
    genres: ['Rock', 'Hip-Hop & Rap'],
    decades: ['1990s'],
    min_rating: 6,
    q: 'love me',
  });
});

test('each chosen value counts as one active filter; live included counts too', () => {
  assert.equal(activeFilterCount(busy()), 2 + 1 + 1 + 1 + 1);
  assert.equal(activeFilterCount(filters({ excludeLive: false })), 1);
});

test('filters are described in words and suggest a playlist title', () => {
  assert.equal(describeFilters(filters()), 'no live recordings');
  assert.equal(
    describeFilters(busy()),
    'Rock, Hip-Hop & Rap · 1990s · 3★ and up · “love me” · live recordings included',
  );
  assert.equal(suggestPlaylistTitle(filters()), 'My mix');
  assert.equal(suggestPlaylistTitle(busy()), 'Rock · Hip-Hop & Rap · 1990s · love me');
});

test('a header click flips the order of its column, or starts a new one', () => {
  assert.deepEqual(nextSort({ key: 'artist', order: 'asc' }, 'artist'), { key: 'artist', order: 'desc' });
  assert.deepEqual(nextSort({ key: 'artist', order: 'desc' }, 'artist'), { key: 'artist', order: 'asc' });
  assert.deepEqual(nextSort({ key: 'artist', order: 'asc' }, 'title'), { key: 'title', order: 'asc' });
  assert.deepEqual(nextSort({ key: 'artist', order: 'asc' }, 'rating'), { key: 'rating', order: 'desc' });
  assert.deepEqual(nextSort({ key: 'title', order: 'desc' }, 'plays'), { key: 'plays', order: 'desc' });
});
