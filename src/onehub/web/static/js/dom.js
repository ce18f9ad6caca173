// Small DOM helpers. h() is the trace viewer's own (h.js, which this app serves from the
// collector's static folder): text always goes in as text nodes, never as HTML, so nothing a
// user typed can turn into markup.

import { h } from "./h.js";

export { h };

/**
 * The page's element with this id; throws if the page lacks it (index.html and this code
 * drifted apart: better an error naming the id than a null a few lines later).
 * @param {string} id
 * @returns {HTMLElement}
 */
export function $(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no element #${id}`);
  return element;
}

/**
 * The form control (input, textarea, select) with this id.
 * @param {string} id
 */
export const field = (id) => /** @type {HTMLInputElement} */ ($(id));

export function show(element, visible) {
  element.hidden = !visible;
}

export function initials(name) {
  const words = String(name || "?").trim().split(/[\s._-]+/).filter(Boolean);
  const letters = words.length > 1 ? words[0][0] + words[1][0] : (words[0] || "?").slice(0, 2);
  return letters.toUpperCase();
}

// A stable hue per user id, so each person keeps one colour everywhere.
export function hueFor(text) {
  let hash = 0;
  for (const char of String(text)) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  return hash % 360;
}

export function avatar(userId, label = userId) {
  const element = h("span", { class: "avatar", title: label, "aria-hidden": "true" }, initials(label));
  // Through the CSSOM: the page's Content-Security-Policy forbids inline style attributes.
  element.style.setProperty("--hue", String(hueFor(userId)));
  return element;
}

export function formatTime(rfc3339) {
  const date = new Date(rfc3339);
  if (Number.isNaN(date.getTime())) return "";
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay
    ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}
