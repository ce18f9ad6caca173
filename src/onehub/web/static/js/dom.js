// Small DOM helpers. Text always goes in as text nodes, never as HTML, so nothing a user typed
// can turn into markup.

/** @param {string} id */
export const $ = (id) => document.getElementById(id);

/**
 * The form control (input, textarea, select) with this id.
 * @param {string} id
 */
export const field = (id) => /** @type {HTMLInputElement} */ (document.getElementById(id));

// h("li", {class: "x", onclick: fn}, "text", childNode, ...)
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

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
  for (const char of String(text)) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
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
