// The JSON API of this server: one fetch wrapper and its error type. No
// DOM: errors come back as ApiError with the server's code, field and body.

export class ApiError extends Error {
  constructor(status, body) {
    const detail = (body && (body.detail || body.error)) || 'The server answered with status ' + status + '.';
    super(detail);
    this.status = status;
    this.code = body && body.error;
    this.detail = detail;
    this.field = body && body.field;
    this.body = body || null;
  }
}

export async function api(method, path, options) {
  const opts = options || {};
  const init = {
    method: method,
    headers: { Accept: 'application/json' },
    credentials: 'same-origin',
    cache: 'no-store',
    signal: opts.signal,
  };
  if (opts.body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new ApiError(0, { error: 'network', detail: 'Can’t reach plexcache. Is it still running?' });
  }
  let body = null;
  const text = await response.text();
  if (text) {
    try {
      body = JSON.parse(text);
    } catch (_) {
      body = null;
    }
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

export function isAbort(err) {
  return err && err.name === 'AbortError';
}
