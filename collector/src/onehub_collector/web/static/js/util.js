// Small DOM, formatting and colour helpers shared by every view.

import { h } from "./h.js";

/**
 * Remove every child of `el`; return it.
 * @template {Element} E
 * @param {E} el
 * @returns {E}
 */
export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

/** Human duration from microseconds: 850µs, 12.3ms, 4.56s, 2m 05s. */
export function formatDuration(micros) {
  if (!Number.isFinite(micros)) return "–";
  const us = Math.max(0, micros);
  if (us < 1000) return `${Math.round(us)}µs`;
  if (us < 1e6) return `${trim(us / 1000)}ms`;
  if (us < 60e6) return `${trim(us / 1e6)}s`;
  const minutes = Math.floor(us / 60e6);
  const seconds = Math.round((us - minutes * 60e6) / 1e6);
  return `${minutes}m ${String(seconds).padStart(2, "0")}s`;
}

function trim(value) {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/** Local wall-clock time of a microsecond epoch timestamp. */
export function formatTimestamp(micros) {
  const date = new Date(micros / 1000);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.` +
    pad(date.getMilliseconds(), 3)
  );
}

export function formatClock(micros) {
  return formatTimestamp(micros).slice(11);
}

/** "3 minutes ago" style age of a microsecond timestamp. */
export function formatAge(micros, nowMs = Date.now()) {
  const seconds = Math.max(0, Math.round((nowMs - micros / 1000) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86400)}d ago`;
}

export function formatRate(perSecond) {
  if (!Number.isFinite(perSecond)) return "–";
  if (perSecond >= 10) return `${perSecond.toFixed(1)}/s`;
  if (perSecond >= 0.1) return `${perSecond.toFixed(2)}/s`;
  const perMinute = perSecond * 60;
  return `${perMinute >= 0.1 ? perMinute.toFixed(2) : perMinute.toPrecision(2)}/min`;
}

export function formatPercent(ratio) {
  if (!Number.isFinite(ratio)) return "–";
  return `${(ratio * 100).toFixed(ratio > 0 && ratio < 0.01 ? 2 : 1)}%`;
}

export function plural(count, word, many = `${word}s`) {
  return `${count} ${count === 1 ? word : many}`;
}

// Go's time.ParseDuration grammar, which the query API expects for min/max duration.
const GO_DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

export function isGoDuration(text) {
  return GO_DURATION.test(text);
}

// Lookback choices as Jaeger's UI spells them, with their length in milliseconds.
/** @type {Array<[string, number]>} */
export const LOOKBACKS = [
  ["5m", 5 * 60e3],
  ["15m", 15 * 60e3],
  ["30m", 30 * 60e3],
  ["1h", 3600e3],
  ["2h", 2 * 3600e3],
  ["6h", 6 * 3600e3],
  ["12h", 12 * 3600e3],
  ["1d", 24 * 3600e3],
  ["2d", 48 * 3600e3],
  ["7d", 7 * 24 * 3600e3],
];

export function lookbackMs(label) {
  const found = LOOKBACKS.find(([name]) => name === label);
  return found ? found[1] : 3600e3;
}

// Colour-blind-friendly hues (Okabe-Ito first, then Tableau), assigned in order of appearance.
const PALETTE = [
  "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#7f7f7f",
  "#8c564b", "#bcbd22", "#17becf", "#9467bd", "#2ca02c",
];

export function colourFor(index) {
  return PALETTE[index % PALETTE.length];
}

/** Parse Jaeger UI's logfmt tag filter (`error=true http.route="/v1/x y"`) into a map. */
export function parseLogfmt(text) {
  const tags = {};
  const pattern = /([^\s=]+)=("((?:[^"\\]|\\.)*)"|(\S*))/g;
  let consumed = "";
  for (const match of text.matchAll(pattern)) {
    const value = match[3] !== undefined ? match[3].replace(/\\(.)/g, "$1") : match[4];
    tags[match[1]] = value;
    consumed += match[0];
  }
  if (consumed.replace(/\s/g, "").length !== text.replace(/\s/g, "").length) {
    throw new Error('Tags must look like key=value key2="value with spaces"');
  }
  return tags;
}

export function formatLogfmt(tags) {
  return Object.entries(tags)
    .map(([key, value]) => (/[\s"]/.test(value) || value === "" ? `${key}=${JSON.stringify(value)}` : `${key}=${value}`))
    .join(" ");
}

/** Read a tags parameter from a URL: a JSON map (Jaeger UI's form) or logfmt. */
export function tagsFromParam(param) {
  if (!param) return {};
  const trimmed = param.trim();
  if (trimmed.startsWith("{")) {
    const parsed = JSON.parse(trimmed);
    return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
  }
  return parseLogfmt(trimmed);
}

export function tagValueText(tag) {
  if (tag.type === "binary") return `<${String(tag.value).length} bytes base64>`;
  if (typeof tag.value === "object" && tag.value !== null) return JSON.stringify(tag.value);
  return String(tag.value);
}

export function downloadBlob(filename, text, type = "application/json") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = h("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
