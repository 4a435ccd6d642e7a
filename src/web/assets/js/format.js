// Formatting of numbers, durations, ages and dates for the page. Pure: no
// DOM, no state, so it runs under `node --test` as it does in the browser.

// Every missing value (no year, no length, no album...) reads the same.
export const MISSING = '—';

// Counts and dates are formatted by hand: the first use of Intl in a page
// loads locale data, which costs tens of milliseconds before the first rows.
export function fmtInt(n) {
  const v = Math.round(Number(n) || 0);
  return (v < 0 ? '-' : '') + String(Math.abs(v)).replace(/\B(?=(\d{3})+$)/g, ',');
}

export function fmtDateTime(date) {
  const two = (n) => String(n).padStart(2, '0');
  return (
    date.getFullYear() + '-' + two(date.getMonth() + 1) + '-' + two(date.getDate()) +
    ' ' + two(date.getHours()) + ':' + two(date.getMinutes())
  );
}

export function fmtTracks(n) {
  return fmtInt(n) + (Number(n) === 1 ? ' track' : ' tracks');
}

export function fmtDuration(ms) {
  if (ms == null || !(ms >= 0)) return '';
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? h + ':' + String(m).padStart(2, '0') + ':' + s : m + ':' + s;
}

export function plural(n, word) {
  return n + ' ' + word + (n === 1 ? '' : 's');
}

export function fmtAgo(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 45) return 'just now';
  const minutes = Math.round(s / 60);
  if (minutes < 60) return plural(minutes, 'minute') + ' ago';
  const hours = Math.round(s / 3600);
  if (hours < 24) return plural(hours, 'hour') + ' ago';
  const days = Math.round(s / 86400);
  if (days < 45) return plural(days, 'day') + ' ago';
  const months = Math.round(days / 30.4);
  if (months < 12) return plural(months, 'month') + ' ago';
  return plural(Math.round(days / 365), 'year') + ' ago';
}

export function fmtEta(seconds) {
  if (seconds == null || !isFinite(seconds) || seconds < 0) return '';
  const s = Math.ceil(seconds);
  if (s < 60) return 'about ' + s + ' s left';
  const m = Math.round(s / 60);
  if (m < 60) return 'about ' + m + ' min left';
  return 'about ' + Math.floor(m / 60) + ' h ' + (m % 60) + ' min left';
}

export function starsLabel(rating) {
  if (rating == null || !(rating > 0)) return 'Not rated';
  const stars = Math.round(rating) / 2;
  return stars + (stars === 1 ? ' star' : ' stars');
}

// Case- and accent-insensitive key for the genre chip filter.
export function foldText(text) {
  return String(text).normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
}

// How far a sync is, in whole percent, or null while its size is unknown.
export function syncPercent(progress) {
  if (!progress || !(progress.total > 0)) return null;
  return Math.max(0, Math.min(100, Math.floor((progress.current / progress.total) * 100)));
}
