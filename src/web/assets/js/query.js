// The filters and sort as the API takes them: query strings, the JSON
// filter body, and the words the page shows for them. Pure: every function
// takes the filters ({ genres, decades, minRating, excludeLive, q }) or the
// sort ({ key, order }) it works on, so it runs under `node --test`.

// The filter as a query string (GET /api/library/tracks).
export function filterQuery(f) {
  const params = new URLSearchParams();
  if (f.genres.size) params.set('genres', Array.from(f.genres).join(','));
  if (f.decades.size) params.set('decades', Array.from(f.decades).join(','));
  if (f.minRating > 0) params.set('min_rating', String(f.minRating));
  params.set('exclude_live', f.excludeLive ? 'true' : 'false');
  if (f.q) params.set('q', f.q);
  return params;
}

// One page of the filtered, sorted list.
export function tracksQuery(f, sort, offset, limit) {
  const params = filterQuery(f);
  params.set('sort', sort.key);
  params.set('order', sort.order);
  params.set('offset', String(offset));
  params.set('limit', String(limit));
  return params;
}

// The filter as a JSON body (POST /api/playlists).
export function filterBody(f) {
  const body = { exclude_live: f.excludeLive };
  if (f.genres.size) body.genres = Array.from(f.genres);
  if (f.decades.size) body.decades = Array.from(f.decades);
  if (f.minRating > 0) body.min_rating = f.minRating;
  if (f.q) body.q = f.q;
  return body;
}

export function activeFilterCount(f) {
  return f.genres.size + f.decades.size + (f.minRating > 0 ? 1 : 0) + (f.excludeLive ? 0 : 1) + (f.q ? 1 : 0);
}

export function describeFilters(f) {
  const parts = [];
  if (f.genres.size) parts.push(Array.from(f.genres).join(', '));
  if (f.decades.size) parts.push(Array.from(f.decades).join(', '));
  if (f.minRating > 0) parts.push(f.minRating / 2 + '★ and up');
  if (f.q) parts.push('“' + f.q + '”');
  parts.push(f.excludeLive ? 'no live recordings' : 'live recordings included');
  return parts.join(' · ');
}

export function suggestPlaylistTitle(f) {
  const parts = Array.from(f.genres).concat(Array.from(f.decades));
  if (f.q) parts.push(f.q);
  return parts.length ? parts.join(' · ') : 'My mix';
}

// A click on a column header: the same column flips the order; another
// starts descending for rating and plays (best first), ascending otherwise.
export function nextSort(sort, key) {
  if (sort.key === key) return { key: key, order: sort.order === 'asc' ? 'desc' : 'asc' };
  return { key: key, order: key === 'rating' || key === 'plays' ? 'desc' : 'asc' };
}
