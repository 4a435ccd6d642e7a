// Small helpers over the page's elements.

export const $ = (id) => document.getElementById(id);

// Hidden parts of the footer also lose their text, so the footer's text is
// exactly what is on screen.
export function showText(el, text) {
  el.hidden = !text;
  if (el.textContent !== (text || '')) el.textContent = text || '';
}
