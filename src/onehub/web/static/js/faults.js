// The "Faults" panel: admin switches the faults to find (README, "Faults to find") through
// GET/PUT /admin/faults. A module of its own, apart from the chat app: it only reads the
// signed-in credentials and adds a button to the page once someone has signed in as admin.

import { basicAuthorization, loadCredentials } from "./session.js";

const PATH = "/admin/faults";
const FAULTS = [
  ["db-latency", "slow SQL statements: DURATION[@SHARE]"],
  ["rpc-errors", "an RPC fails with 503: RPC[@SHARE]"],
  ["n-plus-one", "ListTopics queries once per topic"],
  ["slow-downstream", "topic reads call slow services: DURATION[@SHARE]"],
];

function element(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

async function call(method, body) {
  const credentials = loadCredentials();
  const headers = { "Content-Type": "application/json" };
  if (credentials) headers.Authorization = basicAuthorization(credentials);
  const response = await fetch(PATH, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const document_ = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(document_.message || `HTTP ${response.status}`);
  return document_;
}

function buildPanel() {
  const rows = new Map();
  const status = element("p", { className: "faults-status", role: "status" });
  const list = element("ul", { className: "faults-list" });
  for (const [name, hint] of FAULTS) {
    const box = element("input", { type: "checkbox", id: `fault-${name}` });
    const value = element("input", {
      type: "text",
      className: "faults-value",
      placeholder: "default",
      title: hint,
      disabled: name === "n-plus-one",
    });
    value.setAttribute("aria-label", `${name} value`);
    const label = element("label", { htmlFor: box.id, title: hint }, name);
    list.append(element("li", {}, box, label, value));
    rows.set(name, { box, value });
  }
  const apply = element("button", { type: "submit", className: "primary" }, "Apply");
  const form = element("form", { className: "faults-form" }, list, apply, status);
  const panel = element(
    "details",
    { id: "faults-panel", className: "faults-panel" },
    element("summary", {}, "Faults"),
    form,
  );

  function show(state) {
    for (const [name, { box, value }] of rows) {
      const on = Object.hasOwn(state.faults, name);
      box.checked = on;
      value.value = on ? state.faults[name] : "";
      value.placeholder = state.defaults[name] || "no value";
    }
    const names = Object.keys(state.faults);
    status.textContent = names.length ? `On: ${names.join(", ")}` : "All faults off";
    apply.disabled = !state.switchable;
    if (!state.switchable) status.textContent = "Switching faults is refused on this server";
  }

  panel.addEventListener("toggle", () => {
    if (!panel.open) return;
    call("GET").then(show, (error) => (status.textContent = error.message));
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const faults = {};
    for (const [name, { box, value }] of rows) {
      if (box.checked) faults[name] = value.value.trim();
    }
    call("PUT", { faults }).then(show, (error) => (status.textContent = error.message));
  });
  return panel;
}

// The chat app shows #app once someone has signed in; the panel is for admin only.
function start() {
  const app = document.getElementById("app");
  if (!app) return;
  let panel = null;
  const update = () => {
    const admin = !app.hidden && loadCredentials()?.username === "admin";
    if (admin && !panel) {
      panel = buildPanel();
      document.body.append(panel);
    } else if (!admin && panel) {
      panel.remove();
      panel = null;
    }
  };
  new MutationObserver(update).observe(app, { attributes: true, attributeFilter: ["hidden"] });
  update();
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
