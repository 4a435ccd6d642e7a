// The words for a settings check that failed: a sentence a person can act
// on, and the technical cause apart (shown behind "Why?"). Pure: it takes
// the field and the error answer, so it runs under `node --test`.

// Technical wording a person should not have to read first; it goes
// behind "Why?" and a sentence about the situation is shown instead.
const TECHNICAL = /os error \d+|error sending request|error trying to connect|tcp connect|dns error|failed to lookup|invalid type:|expected .+ at line \d+|relative URL without a base|hyper::|reqwest::/i;

export function plainSettingsSentence(field, text) {
  const t = String(text || '');
  if (field === 'plex_token') return 'Plex did not accept this token. Check it, or get a fresh one from Plex Web.';
  if (field === 'sections') return 'A music library chosen here is not on this Plex server. Choose again.';
  if (/timed? ?out|timeout/i.test(t)) {
    return 'The server at this address did not answer in time. Check the address and that Plex is running.';
  }
  if (/certificate|\btls\b|\bssl\b/i.test(t)) {
    return 'The server’s certificate is not trusted. Use the http address, or accept a self-signed certificate below.';
  }
  if (/resolve|dns|lookup/i.test(t)) return 'No computer has this name on your network. Check the address.';
  if (/refused/i.test(t)) {
    return 'Nothing answers at this address: the connection was refused. Is Plex running, and is the port right (usually 32400)?';
  }
  if (field === 'plex_url' || /connect/i.test(t)) {
    return 'plexcache could not connect to a Plex server at this address. Check the address and the port (usually 32400), and that Plex is running.';
  }
  return 'The settings could not be checked.';
}

// An error answer as { sentence, detail }: the sentence for the person,
// the technical cause (when the server sends one apart) for "Why?".
export function settingsErrorText(field, err) {
  const body = (err && err.body) || {};
  const str = (v) => (typeof v === 'string' && v.trim() ? v.trim() : null);
  let sentence = str(body.message) || str(err && err.detail) || 'The settings could not be saved.';
  let detail = str(body.technical_detail) || str(body.technical) || str(body.cause);
  if (!detail && str(body.message) && str(body.detail) && str(body.detail) !== sentence) detail = str(body.detail);
  if (!detail && TECHNICAL.test(sentence)) {
    detail = sentence;
    sentence = plainSettingsSentence(field, sentence);
  }
  return { sentence: sentence, detail: detail && detail !== sentence ? detail : null };
}
