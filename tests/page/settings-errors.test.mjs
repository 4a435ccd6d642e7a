// The words for a failed settings check: a sentence, and the cause apart.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { plainSettingsSentence, settingsErrorText } from '../../src/web/assets/js/settings-errors.js';

test('a technical message becomes a sentence, the message goes behind Why', () => {
  const err = { detail: 'error sending request: tcp connect error: Connection refused (os error 111)', body: {} };
  const text = settingsErrorText('plex_url', err);
  assert.equal(
    text.sentence,
    'Nothing answers at this address: the connection was refused. Is Plex running, and is the port right (usually 32400)?',
  );
  assert.equal(text.detail, err.detail);
});

test('a plain message from the server is shown as it is', () => {
  const text = settingsErrorText('plex_url', { detail: 'The address must start with http:// or https://.', body: {} });
  assert.equal(text.sentence, 'The address must start with http:// or https://.');
  assert.equal(text.detail, null);
});

test('a message with its technical cause apart keeps both', () => {
  const body = { message: 'Plex did not answer in time.', technical_detail: 'operation timed out after 10s' };
  assert.deepEqual(settingsErrorText('plex_url', { detail: 'x', body: body }), {
    sentence: 'Plex did not answer in time.',
    detail: 'operation timed out after 10s',
  });
  const same = { message: 'Same words', detail: 'Same words' };
  assert.deepEqual(settingsErrorText(null, { detail: 'Same words', body: same }), { sentence: 'Same words', detail: null });
});

test('no message at all still says something', () => {
  assert.deepEqual(settingsErrorText(null, null), { sentence: 'The settings could not be saved.', detail: null });
});

test('the sentence fits the field and the cause', () => {
  assert.match(plainSettingsSentence('plex_token', 'os error 1'), /did not accept this token/);
  assert.match(plainSettingsSentence('sections', ''), /not on this Plex server/);
  assert.match(plainSettingsSentence('plex_url', 'request timed out'), /did not answer in time/);
  assert.match(plainSettingsSentence('plex_url', 'invalid peer certificate: UnknownIssuer'), /certificate is not trusted/);
  assert.match(plainSettingsSentence('plex_url', 'dns error: failed to lookup address'), /No computer has this name/);
  assert.match(plainSettingsSentence('plex_url', 'hyper::Error'), /could not connect to a Plex server/);
  assert.equal(plainSettingsSentence(null, 'hyper::Error'), 'The settings could not be checked.');
});
