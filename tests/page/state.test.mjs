// The events sections talk by: synchronous, in listening order, with their
// detail. The page relies on this: `page-loaded` teaches the selection its
// rows before the table draws them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emit, on, state } from '../../src/web/assets/js/state.js';

test('an event reaches its listeners at once, in order, with its detail', () => {
  const heard = [];
  on('test-event', (detail) => heard.push(['first', detail]));
  on('test-event', (detail) => heard.push(['second', detail]));
  on('other-event', () => heard.push(['other']));
  emit('test-event', { offset: 200 });
  heard.push(['after emit']);
  emit('test-event');
  assert.deepEqual(heard, [
    ['first', { offset: 200 }],
    ['second', { offset: 200 }],
    ['after emit'],
    ['first', null],
    ['second', null],
  ]);
});

test('the state starts with the default filters and sort', () => {
  assert.equal(state.filters.excludeLive, true);
  assert.equal(state.filters.genres.size, 0);
  assert.deepEqual(state.sort, { key: 'artist', order: 'asc' });
  assert.equal(state.selection.size, 0);
});
