// Formatting of counts, durations, ages, dates and ratings.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  fmtAgo,
  fmtDateTime,
  fmtDuration,
  fmtEta,
  fmtInt,
  fmtTracks,
  foldText,
  plural,
  starsLabel,
  syncPercent,
} from '../../src/web/assets/js/format.js';

test('whole numbers get thousands separators and round', () => {
  assert.equal(fmtInt(0), '0');
  assert.equal(fmtInt(999), '999');
  assert.equal(fmtInt(1000), '1,000');
  assert.equal(fmtInt(1234567), '1,234,567');
  assert.equal(fmtInt(-98765), '-98,765');
  assert.equal(fmtInt(1499.5), '1,500');
  assert.equal(fmtInt('2500'), '2,500');
  assert.equal(fmtInt(undefined), '0');
  assert.equal(fmtInt('abc'), '0');
});

test('track counts say track or tracks', () => {
  assert.equal(fmtTracks(1), '1 track');
  assert.equal(fmtTracks(0), '0 tracks');
  assert.equal(fmtTracks(100000), '100,000 tracks');
  assert.equal(plural(1, 'day'), '1 day');
  assert.equal(plural(3, 'day'), '3 days');
});

test('durations are m:ss, or h:mm:ss from an hour, and empty when unknown', () => {
  assert.equal(fmtDuration(0), '0:00');
  assert.equal(fmtDuration(61000), '1:01');
  assert.equal(fmtDuration(599499), '9:59');
  assert.equal(fmtDuration(3723000), '1:02:03');
  assert.equal(fmtDuration(null), '');
  assert.equal(fmtDuration(undefined), '');
  assert.equal(fmtDuration(-5), '');
  assert.equal(fmtDuration(NaN), '');
});

test('ages read like a person says them', () => {
  assert.equal(fmtAgo(-3), 'just now');
  assert.equal(fmtAgo(44), 'just now');
  assert.equal(fmtAgo(45), '1 minute ago');
  assert.equal(fmtAgo(150), '3 minutes ago');
  assert.equal(fmtAgo(3600), '1 hour ago');
  assert.equal(fmtAgo(5 * 3600), '5 hours ago');
  assert.equal(fmtAgo(24 * 3600), '1 day ago');
  assert.equal(fmtAgo(60 * 86400), '2 months ago');
  assert.equal(fmtAgo(800 * 86400), '2 years ago');
});

test('time left rounds up seconds, then minutes and hours', () => {
  assert.equal(fmtEta(0.2), 'about 1 s left');
  assert.equal(fmtEta(59), 'about 59 s left');
  assert.equal(fmtEta(90), 'about 2 min left');
  assert.equal(fmtEta(3 * 3600 + 5 * 60), 'about 3 h 5 min left');
  assert.equal(fmtEta(null), '');
  assert.equal(fmtEta(-1), '');
  assert.equal(fmtEta(Infinity), '');
});

test('dates are local YYYY-MM-DD HH:MM', () => {
  assert.equal(fmtDateTime(new Date(2024, 0, 2, 3, 4, 59)), '2024-01-02 03:04');
  assert.equal(fmtDateTime(new Date(1999, 11, 31, 23, 59)), '1999-12-31 23:59');
});

test('ratings out of 10 read as stars', () => {
  assert.equal(starsLabel(null), 'Not rated');
  assert.equal(starsLabel(0), 'Not rated');
  assert.equal(starsLabel(2), '1 star');
  assert.equal(starsLabel(7), '3.5 stars');
  assert.equal(starsLabel(10), '5 stars');
});

test('genre search ignores case and accents', () => {
  assert.equal(foldText('Électro Pop'), 'electro pop');
  assert.equal(foldText('MÖTLEY'), 'motley');
  assert.equal(foldText(42), '42');
});

test('sync progress is a whole percent within 0..100, or null without a total', () => {
  assert.equal(syncPercent({ current: 1, total: 3 }), 33);
  assert.equal(syncPercent({ current: 3, total: 3 }), 100);
  assert.equal(syncPercent({ current: 5, total: 3 }), 100);
  assert.equal(syncPercent({ current: -1, total: 3 }), 0);
  assert.equal(syncPercent({ current: 5, total: 0 }), null);
  assert.equal(syncPercent(null), null);
});
