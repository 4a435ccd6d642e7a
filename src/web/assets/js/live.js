// Following the library live (GET /api/events): the words of a change's
// toast, changes arriving close together told as one, and when the event
// stream has failed often enough that the page polls instead. Pure: no
// DOM, so it runs under `node --test`.

import { fmtInt } from './format.js';

// Changes arriving within this time of the last one share one toast.
export const COMBINE_MS = 1000;
// Failures in a row (without the stream opening in between) after which
// the page stops waiting for the browser's reconnects and polls.
export const STREAM_FAILURES_BEFORE_POLLING = 3;
// After giving up, the stream is tried again this much later.
export const STREAM_RETRY_MS = 60000;

// A `library` event's data as counts (missing or bad numbers are 0).
export function changeOf(data) {
  const n = (v) => (Number.isFinite(Number(v)) && Number(v) > 0 ? Math.floor(Number(v)) : 0);
  const d = data || {};
  return { added: n(d.added), changed: n(d.changed), removed: n(d.removed) };
}

export function mergeChanges(a, b) {
  return { added: a.added + b.added, changed: a.changed + b.changed, removed: a.removed + b.removed };
}

export function isEmptyChange(c) {
  return c.added === 0 && c.changed === 0 && c.removed === 0;
}

// "3 tracks added, 1 changed", "1 track removed"; '' when nothing changed.
// The first count names the tracks, the others only their verb.
export function changeText(change) {
  const parts = [];
  for (const [count, verb] of [
    [change.added, 'added'],
    [change.changed, 'changed'],
    [change.removed, 'removed'],
  ]) {
    if (!(count > 0)) continue;
    const noun = parts.length === 0 ? (count === 1 ? ' track ' : ' tracks ') : ' ';
    parts.push(fmtInt(count) + noun + verb);
  }
  return parts.join(', ');
}

// The toast after a change at `now` (ms): when the last one was shown (or
// renewed) within COMBINE_MS, it is renewed with the sum; otherwise a new
// one starts. `last` is the previous answer, or null.
// Answers { change, at, renew }.
export function nextToast(last, change, now) {
  if (last && now - last.at <= COMBINE_MS) {
    return { change: mergeChanges(last.change, change), at: now, renew: true };
  }
  return { change: change, at: now, renew: false };
}

// How the page follows the status after an event of its stream: the
// failures in a row so far, and the mode: 'stream' (events come), 'wait'
// (the browser reconnects; the page polls meanwhile) or 'poll' (the stream
// is closed, the page polls and tries it again later). `readyState` is the
// EventSource's (2: closed, the browser will not retry, e.g. after a 401 or
// 503).
export function streamStep(failures, kind, readyState) {
  if (kind === 'open') return { failures: 0, mode: 'stream' };
  const next = failures + 1;
  if (readyState === 2 || next >= STREAM_FAILURES_BEFORE_POLLING) return { failures: next, mode: 'poll' };
  return { failures: next, mode: 'wait' };
}
