// h() and s(): the one way both pages build DOM elements. The trace viewer serves this file at
// /jaeger/static/js/h.js, and the chat app serves the very same file at /static/js/h.js
// (onehub.web.routes), so the two pages cannot drift apart. No dependencies, no markup: text
// always goes in as text nodes, so nothing a user typed can turn into HTML.
//
// h(tag, attributes, ...children) -> HTMLElement; s(...) the same for SVG elements.
// Attributes (an object, or null/undefined for none), by name:
//   - value undefined, null or false: left out (so `disabled: cond` works);
//   - value true: the attribute, empty (`checked: true` -> checked="");
//   - on<event> (onclick or onClick): the function becomes a listener of the lower-cased event;
//     anything but a function throws a TypeError (never an inline handler attribute);
//   - style: an object assigned to element.style (the pages' CSP forbids style attributes);
//   - dataset: an object assigned to element.dataset (data-* attributes);
//   - anything else: setAttribute(name, String(value)), e.g. class, href, aria-*.
// Children, after flattening nested arrays at any depth:
//   - undefined, null and false: skipped (so `cond && child` works);
//   - a DOM Node: appended as it is;
//   - anything else (strings, numbers, 0, true): a text node of String(child), never parsed.

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * @param {Element & ElementCSSInlineStyle & HTMLOrSVGElement} element
 * @param {Record<string, any> | null | undefined} attributes
 */
function setAttributes(element, attributes) {
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (/^on/i.test(name)) {
      if (typeof value !== "function") throw new TypeError(`h(): ${name} must be a function`);
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "style") Object.assign(element.style, value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
}

/**
 * @param {Element} element
 * @param {any[]} children
 */
function appendChildren(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/**
 * Build an HTML element: h("a", {href: "/x", class: "link", onClick: go}, "text", childNode).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, any> | null} [attributes]
 * @param {...any} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  setAttributes(element, attributes);
  appendChildren(element, children);
  return element;
}

/**
 * Build an SVG element, with the same rules as h().
 * @template {keyof SVGElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, any> | null} [attributes]
 * @param {...any} children
 * @returns {SVGElementTagNameMap[K]}
 */
export function s(tag, attributes, ...children) {
  const element = /** @type {SVGElementTagNameMap[K]} */ (document.createElementNS(SVG_NS, tag));
  setAttributes(element, attributes);
  appendChildren(element, children);
  return element;
}
