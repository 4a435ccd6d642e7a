// Modal dialogs: opening with focus inside, closing with focus back where
// it was, Escape and a Tab trap. The sync modal cannot be closed while the
// server says the sync blocks the page.

import { state } from './state.js';

function focusableIn(container) {
  return Array.from(
    container.querySelectorAll(
      'button, [href], input, select, textarea, [tabindex]:not([tabindex="-1"])'
    )
  ).filter((el) => !el.disabled && !el.hidden && el.offsetParent !== null && el.tabIndex >= 0);
}

export function openDialog(dialog, opts) {
  dialog._closable = !(opts && opts.closable === false);
  dialog._returnFocus = document.activeElement;
  dialog.showModal();
  const target = (opts && opts.focus) || (dialog._closable ? focusableIn(dialog)[0] : dialog);
  if (target) target.focus();
}

export function closeDialog(dialog) {
  if (!dialog.open) return;
  dialog._closing = true;
  dialog.close();
  dialog._closing = false;
  const back = dialog._returnFocus;
  if (back && document.contains(back) && typeof back.focus === 'function') back.focus();
}

export function topDialog() {
  const open = Array.from(document.querySelectorAll('dialog[open]'));
  return open[open.length - 1] || null;
}

export function bindDialogs() {
  document.querySelectorAll('dialog').forEach((dialog) => {
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      if (dialog._closable) closeDialog(dialog);
    });
    // The browser may still close a dialog on repeated Escape presses;
    // the sync modal stays up for as long as the server says so.
    dialog.addEventListener('close', () => {
      if (!dialog._closing && !dialog._closable && state.status && state.status.is_syncing && state.status.blocking) {
        dialog.showModal();
        dialog.focus();
      }
    });
    dialog.querySelectorAll('[data-close]').forEach((button) => {
      button.addEventListener('click', () => closeDialog(dialog));
    });
  });

  document.addEventListener('keydown', (e) => {
    const dialog = topDialog();
    if (e.key === 'Escape') {
      if (dialog) {
        e.preventDefault();
        if (dialog._closable) closeDialog(dialog);
      }
      return;
    }
    if (e.key !== 'Tab' || !dialog) return;
    const items = focusableIn(dialog);
    if (items.length === 0) {
      e.preventDefault();
      dialog.focus();
      return;
    }
    const first = items[0];
    const last = items[items.length - 1];
    if (e.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && (document.activeElement === last || !dialog.contains(document.activeElement))) {
      e.preventDefault();
      first.focus();
    }
  });
}
