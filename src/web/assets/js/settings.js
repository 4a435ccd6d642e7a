// The settings dialog: Plex address, token, music libraries, refresh age
// and certificates. Saving checks the settings against Plex (Cancel aborts
// the check), confirms a change of server, and starts the sync the change
// needs.

import { api, isAbort } from './api.js';
import { closeDialog, openDialog } from './dialogs.js';
import { $ } from './dom.js';
import { settingsErrorText } from './settings-errors.js';
import { state } from './state.js';
import { applyStatus, loadStatus, pollSoon } from './status.js';
import { showToast } from './toasts.js';

const SETTINGS_FIELDS = {
  plex_url: 'settings-url',
  plex_token: 'settings-token',
  sections: 'settings-sections',
  refresh_age_hours: 'settings-refresh-age',
};

function clearSettingsErrors() {
  Object.keys(SETTINGS_FIELDS).forEach((field) => {
    const input = $(SETTINGS_FIELDS[field]);
    const error = $(SETTINGS_FIELDS[field] + '-error');
    input.removeAttribute('aria-invalid');
    error.hidden = true;
    error.textContent = '';
    const hint = input.getAttribute('data-hint-id');
    if (hint) input.setAttribute('aria-describedby', hint);
  });
  $('settings-error').hidden = true;
  $('settings-error').textContent = '';
}

// Fills an error box: the sentence, and a "Why?" button opening the detail.
function fillErrorBox(box, text) {
  const sentence = document.createElement('span');
  sentence.className = 'error-text';
  sentence.textContent = text.sentence;
  const nodes = [sentence];
  if (text.detail) {
    const why = document.createElement('button');
    why.type = 'button';
    why.className = 'link-button small why';
    why.textContent = 'Why?';
    why.setAttribute('aria-expanded', 'false');
    const detail = document.createElement('span');
    detail.className = 'why-detail';
    detail.id = box.id + '-detail';
    detail.hidden = true;
    detail.textContent = text.detail;
    why.setAttribute('aria-controls', detail.id);
    why.addEventListener('click', () => {
      detail.hidden = !detail.hidden;
      why.setAttribute('aria-expanded', String(!detail.hidden));
    });
    nodes.push(' ', why, detail);
  }
  box.replaceChildren.apply(box, nodes);
}

function showSettingsError(field, errOrText) {
  const text = typeof errOrText === 'string' ? { sentence: errOrText, detail: null } : settingsErrorText(field, errOrText);
  const id = SETTINGS_FIELDS[field];
  if (!id) {
    fillErrorBox($('settings-error'), text);
    $('settings-error').hidden = false;
    return;
  }
  const input = $(id);
  const error = $(id + '-error');
  fillErrorBox(error, text);
  error.hidden = false;
  input.setAttribute('aria-invalid', 'true');
  const hint = input.getAttribute('data-hint-id');
  input.setAttribute('aria-describedby', (hint ? hint + ' ' : '') + error.id);
  const focusTarget = input.tagName === 'FIELDSET' ? input.querySelector('input') : input;
  if (focusTarget) focusTarget.focus();
}

function fillSettingsForm(settings) {
  state.settings = settings;
  $('settings-url').value = settings.plex_url || '';
  const token = $('settings-token');
  token.value = '';
  token.placeholder = settings.token_set ? '•••••• (set)' : 'Paste your Plex token';
  $('settings-refresh-age').value = settings.refresh_age_hours == null ? '' : String(settings.refresh_age_hours);
  $('settings-insecure').checked = !!settings.accept_invalid_certs;

  const list = $('settings-sections-list');
  const chosen = new Set((settings.sections || []).map(String));
  const available = settings.available_sections || [];
  const fragment = document.createDocumentFragment();
  available.forEach((section) => {
    const label = document.createElement('label');
    label.className = 'check-row';
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.value = String(section.key);
    box.checked = chosen.has(String(section.key));
    const text = document.createElement('span');
    text.textContent = section.title || 'Section ' + section.key;
    label.append(box, text);
    fragment.append(label);
  });
  list.replaceChildren(fragment);
  $('settings-sections-hint').textContent = available.length
    ? 'None checked caches every music library.'
    : 'Your music libraries appear here once plexcache has connected to Plex. Until then every music library is cached.';
}

async function openSettingsDialog() {
  const dialog = $('settings-dialog');
  clearSettingsErrors();
  $('settings-loading').hidden = false;
  $('settings-fields').hidden = true;
  $('settings-save').disabled = true;
  openDialog(dialog);
  try {
    const settings = await api('GET', '/api/settings');
    fillSettingsForm(settings);
    $('settings-fields').hidden = false;
    $('settings-save').disabled = false;
    $('settings-url').focus();
  } catch (err) {
    showSettingsError(null, err.detail || 'Settings could not be loaded.');
  } finally {
    $('settings-loading').hidden = true;
  }
}

function readSettingsForm() {
  const body = {};
  body.plex_url = $('settings-url').value.trim();
  const token = $('settings-token').value.trim();
  if (token) body.plex_token = token;
  const available = (state.settings && state.settings.available_sections) || [];
  if (available.length) {
    body.sections = Array.from($('settings-sections-list').querySelectorAll('input:checked')).map((b) => b.value);
  }
  const ageText = $('settings-refresh-age').value.trim();
  if (ageText !== '') {
    const age = Number(ageText);
    if (!(age > 0) || !Number.isInteger(age)) return { error: ['refresh_age_hours', 'Enter a whole number of hours, 1 or more.'] };
    body.refresh_age_hours = age;
  }
  body.accept_invalid_certs = $('settings-insecure').checked;
  return { body: body };
}

async function submitSettings(e) {
  e.preventDefault();
  if (settingsCheck.controller) return;
  clearSettingsErrors();
  const form = readSettingsForm();
  if (form.error) {
    showSettingsError(form.error[0], form.error[1]);
    return;
  }
  await checkAndSaveSettings(form.body);
}

async function checkAndSaveSettings(body) {
  // Checking connects to Plex and can take seconds: Cancel (or closing
  // the dialog) aborts the request, and the server drops the check.
  const controller = new AbortController();
  settingsCheck.controller = controller;
  setSettingsChecking(true);
  try {
    const saved = await api('PUT', '/api/settings', { body: body, signal: controller.signal });
    state.settings = saved;
    $('settings-token').value = '';
    closeDialog($('settings-dialog'));
    showToast('Settings saved', 'success');
    afterSettingsSaved();
  } catch (err) {
    if (isAbort(err)) showSettingsError(null, 'Check cancelled. Nothing was saved.');
    else if (err.status === 400 && err.field) showSettingsError(err.field, err);
    else if (err.status === 409 && err.code === 'server_change_confirm') askServerChange(err, body);
    else showSettingsError(null, err);
  } finally {
    if (settingsCheck.controller === controller) settingsCheck.controller = null;
    setSettingsChecking(false);
  }
}

const settingsCheck = { controller: null };

// The address leads to another Plex server than the one the cache came
// from: saving drops the cached library, so the server asks first (409
// server_change_confirm) and the page asks the person.
function askServerChange(err, body) {
  const box = $('settings-error');
  fillErrorBox(box, settingsErrorText(null, err));
  const confirm = document.createElement('button');
  confirm.type = 'button';
  confirm.id = 'settings-confirm-server';
  confirm.className = 'button secondary small';
  confirm.textContent = 'Use this server';
  confirm.addEventListener('click', () => {
    clearSettingsErrors();
    checkAndSaveSettings(Object.assign({}, body, { confirm_server_change: true }));
  });
  box.append(' ', confirm);
  box.hidden = false;
  confirm.focus();
}

function setSettingsChecking(on) {
  const save = $('settings-save');
  save.disabled = on;
  save.textContent = on ? 'Checking connection…' : 'Save';
  $('settings-form').setAttribute('aria-busy', String(on));
  $('settings-cancel').textContent = on ? 'Cancel check' : 'Cancel';
}

function cancelSettingsCheck() {
  const controller = settingsCheck.controller;
  if (!controller) return false;
  settingsCheck.controller = null;
  controller.abort();
  return true;
}

// The server itself syncs after a change that needs one (a new server, new
// sections, an empty cache, a failed last sync) before it answers the save;
// the page only shows it. Starting one here too raced with that sync: when
// it ended before this status read, a second, needless sync followed.
async function afterSettingsSaved() {
  let s = null;
  try {
    s = await loadStatus();
  } catch (err) {
    // The poll below shows the state soon.
  }
  if (s) applyStatus(s);
  pollSoon();
}

export function bindSettingsDialog() {
  Object.keys(SETTINGS_FIELDS).forEach((field) => {
    const input = $(SETTINGS_FIELDS[field]);
    const hint = input.getAttribute('aria-describedby');
    if (hint) input.setAttribute('data-hint-id', hint);
  });
  $('settings-button').addEventListener('click', openSettingsDialog);
  $('first-run-settings').addEventListener('click', openSettingsDialog);
  $('error-settings').addEventListener('click', openSettingsDialog);
  $('settings-form').addEventListener('submit', submitSettings);
  // During a check, Cancel stops the check and keeps the dialog open to
  // fix the address; otherwise it closes the dialog.
  $('settings-cancel').addEventListener('click', () => {
    if (!cancelSettingsCheck()) closeDialog($('settings-dialog'));
  });
  $('settings-dialog').addEventListener('close', cancelSettingsCheck);
}
