// live.js: a change's toast words, changes told together, and when the
// page gives up on the event stream and polls.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  COMBINE_MS,
  STREAM_FAILURES_BEFORE_POLLING,
  changeOf,
  changeText,
  isEmptyChange,
  mergeChanges,
  nextToast,
  streamStep,
} from '../../src/web/assets/js/live.js';

const change = (added, changed, removed) => ({ added, changed, removed });

test('a change is told in words, the first count naming the tracks', () => {
  assert.equal(changeText(change(3, 1, 0)), '3 tracks added, 1 changed');
  assert.equal(changeText(change(0, 0, 1)), '1 track removed');
  assert.equal(changeText(change(1, 0, 0)), '1 track added');
  assert.equal(changeText(change(0, 2, 0)), '2 tracks changed');
  assert.equal(changeText(change(0, 1, 5)), '1 track changed, 5 removed');
  assert.equal(changeText(change(1200, 3, 4)), '1,200 tracks added, 3 changed, 4 removed');
  assert.equal(changeText(change(0, 0, 0)), '');
});

test('event data becomes counts, bad values count nothing', () => {
  assert.deepEqual(changeOf({ added: 3, changed: 1, removed: 0, at: '2026-01-01T00:00:00Z' }), change(3, 1, 0));
  assert.deepEqual(changeOf({ added: '2', changed: -1, removed: 'x' }), change(2, 0, 0));
  assert.deepEqual(changeOf(null), change(0, 0, 0));
  assert.ok(isEmptyChange(changeOf({})));
  assert.ok(!isEmptyChange(change(0, 0, 1)));
});

test('changes within a second of the last share one toast', () => {
  const first = nextToast(null, change(1, 0, 0), 10_000);
  assert.deepEqual(first, { change: change(1, 0, 0), at: 10_000, renew: false });
  const second = nextToast(first, change(2, 1, 0), 10_000 + COMBINE_MS);
  assert.deepEqual(second, { change: change(3, 1, 0), at: 11_000, renew: true });
  assert.equal(changeText(second.change), '3 tracks added, 1 changed');
  // The window runs from the last change, so a steady trickle stays one toast.
  const third = nextToast(second, change(0, 0, 1), 11_900);
  assert.equal(changeText(third.change), '3 tracks added, 1 changed, 1 removed');
  assert.equal(third.renew, true);
  // A change later than that is news of its own.
  const later = nextToast(third, change(0, 0, 2), 11_900 + COMBINE_MS + 1);
  assert.deepEqual(later, { change: change(0, 0, 2), at: 12_901, renew: false });
  assert.deepEqual(mergeChanges(change(1, 2, 3), change(4, 5, 6)), change(5, 7, 9));
});

test('the stream is followed while open; repeated failures fall back to polling', () => {
  assert.deepEqual(streamStep(0, 'open', 1), { failures: 0, mode: 'stream' });
  // One failure: the browser reconnects; the page polls meanwhile.
  let s = streamStep(0, 'error', 0);
  assert.deepEqual(s, { failures: 1, mode: 'wait' });
  for (let i = 2; i < STREAM_FAILURES_BEFORE_POLLING; i++) s = streamStep(s.failures, 'error', 0);
  assert.equal(s.mode, 'wait');
  s = streamStep(s.failures, 'error', 0);
  assert.equal(s.mode, 'poll', 'the stream stays down');
  // Opening again forgets the failures.
  assert.deepEqual(streamStep(s.failures, 'open', 1), { failures: 0, mode: 'stream' });
  // A stream the browser closed (401, 503) will not come back by itself.
  assert.deepEqual(streamStep(0, 'error', 2), { failures: 1, mode: 'poll' });
});
