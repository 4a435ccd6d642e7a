// Which pages the table fetches, keeps fetching and drops.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pagesInView, pagesToDrop, pagesWorthFetching } from '../../src/web/assets/js/paging.js';

test('the pages under the rows on screen', () => {
  assert.deepEqual(pagesInView({ first: 0, last: 30 }, true, 100), [0]);
  assert.deepEqual(pagesInView({ first: 95, last: 130 }, true, 100), [0, 1]);
  assert.deepEqual(pagesInView({ first: 250, last: 499 }, true, 100), [2, 3, 4]);
});

test('an empty view wants page 0 until the list has answered once', () => {
  assert.deepEqual(pagesInView({ first: 0, last: -1 }, false, 100), [0]);
  assert.deepEqual(pagesInView({ first: 0, last: -1 }, true, 100), []);
});

test('requests go on for the wanted pages and their neighbours', () => {
  assert.deepEqual([...pagesWorthFetching([4, 5])].sort((a, b) => a - b), [3, 4, 5, 6]);
  assert.equal(pagesWorthFetching([]).size, 0);
});

test('the cache drops the pages farthest from the view first', () => {
  const cached = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  assert.deepEqual(pagesToDrop(cached, { first: 500, last: 530 }, 100, 10), []);
  // Centre page 5: page 0 is farthest; 1 and 9 tie, in cache order.
  assert.deepEqual(pagesToDrop(cached, { first: 500, last: 530 }, 100, 7), [0, 1, 9]);
  assert.deepEqual(pagesToDrop(cached, { first: 0, last: 20 }, 100, 8), [9, 8]);
  assert.deepEqual(cached, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'the input is left alone');
});
