// Notifications in the corner, and the toast for an error answer. A toast
// can be renewed with new words (changes told together).

import { isAbort } from './api.js';
import { $ } from './dom.js';

export function showToast(message, kind) {
  const box = $('toasts');
  const type = kind || 'info';
  const existing = Array.from(box.children).find((t) => t._message === message);
  if (existing) existing.remove();
  const toast = document.createElement('div');
  toast.className = 'toast ' + type;
  toast._message = message;
  if (type === 'error') toast.setAttribute('role', 'alert');
  const text = document.createElement('p');
  text.textContent = message;
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'icon-button small';
  close.setAttribute('aria-label', 'Dismiss');
  close.textContent = '×';
  close.addEventListener('click', () => toast.remove());
  toast.append(text, close);
  box.append(toast);
  while (box.children.length > 4) box.firstElementChild.remove();
  toast._lifetime = type === 'error' ? 12000 : 4500;
  toast._timer = setTimeout(() => toast.remove(), toast._lifetime);
  return toast;
}

// New words for a toast still shown, which stays its full time again;
// false when it is gone already.
export function renewToast(toast, message) {
  if (!toast || !toast.isConnected) return false;
  toast._message = message;
  toast.querySelector('p').textContent = message;
  clearTimeout(toast._timer);
  toast._timer = setTimeout(() => toast.remove(), toast._lifetime);
  return true;
}

export function showError(err) {
  if (isAbort(err)) return;
  showToast((err && (err.detail || err.message)) || 'Something went wrong.', 'error');
}
