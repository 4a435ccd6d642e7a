// The fetch wrapper against a small HTTP server of the test's own.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';
import { ApiError, api, isAbort } from '../../src/web/assets/js/api.js';

let server;
let base;
const seen = [];

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body: body });
      const answers = {
        '/ok': [200, '{"tracks":[1,2]}'],
        '/empty': [204, ''],
        '/bad': [400, '{"error":"bad_request","detail":"min_rating must be 0 to 10","field":"min_rating"}'],
        '/html': [502, '<html>Bad gateway</html>'],
        '/echo': [200, body],
      };
      if (req.url === '/slow') return; // never answers
      const [status, text] = answers[req.url] || [404, '{"error":"not_found"}'];
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(text);
    });
  });
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  base = 'http://127.0.0.1:' + server.address().port;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

test('a JSON answer is parsed; an empty one is null', async () => {
  assert.deepEqual(await api('GET', base + '/ok'), { tracks: [1, 2] });
  assert.equal(await api('DELETE', base + '/empty'), null);
  const request = seen.find((r) => r.url === '/ok');
  assert.equal(request.headers.accept, 'application/json');
});

test('a body is sent as JSON', async () => {
  const answer = await api('PUT', base + '/echo', { body: { title: 'Mix', rating_keys: ['1'] } });
  assert.deepEqual(answer, { title: 'Mix', rating_keys: ['1'] });
  const request = seen.find((r) => r.url === '/echo');
  assert.equal(request.method, 'PUT');
  assert.equal(request.headers['content-type'], 'application/json');
});

test('an error answer becomes an ApiError with code, detail and field', async () => {
  const err = await api('GET', base + '/bad').then(
    () => null,
    (e) => e,
  );
  assert.ok(err instanceof ApiError);
  assert.equal(err.status, 400);
  assert.equal(err.code, 'bad_request');
  assert.equal(err.field, 'min_rating');
  assert.equal(err.detail, 'min_rating must be 0 to 10');
  assert.equal(err.message, 'min_rating must be 0 to 10');
});

test('an error answer that is not JSON still says its status', async () => {
  await assert.rejects(api('GET', base + '/html'), (err) => {
    assert.equal(err.status, 502);
    assert.equal(err.body, null);
    assert.equal(err.detail, 'The server answered with status 502.');
    return true;
  });
});

test('no server at all is a network ApiError with status 0', async () => {
  const closed = createServer();
  await new Promise((done) => closed.listen(0, '127.0.0.1', done));
  const port = closed.address().port;
  await new Promise((done) => closed.close(done));
  await assert.rejects(api('GET', 'http://127.0.0.1:' + port + '/ok'), (err) => {
    assert.equal(err.status, 0);
    assert.equal(err.code, 'network');
    assert.match(err.detail, /Can’t reach plexcache/);
    return true;
  });
});

test('an aborted request rejects as an abort, not an ApiError', async () => {
  const controller = new AbortController();
  const pending = api('GET', base + '/slow', { signal: controller.signal });
  controller.abort();
  await assert.rejects(pending, (err) => {
    assert.ok(isAbort(err));
    assert.ok(!(err instanceof ApiError));
    return true;
  });
  assert.equal(isAbort(new ApiError(500, null)), false);
});
