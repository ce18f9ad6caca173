// OneHub's chat front end: sign in, topics, messages, search and members over the REST API,
// with new messages and topic changes pushed on /web/events.
//
// Calls per action, to keep the traces few and each one meaningful: signing in lists the
// topics and looks up their members' names (2 calls); opening a topic is one call (its
// messages: the topic itself and its members come with the topic list and with pushed
// changes, names from the cache); nothing is polled while the event stream is up, except one
// catch-up read of the open topic every `catchUpSeconds` (from the server) while the tab is
// visible, for messages posted through another server process.

import { ApiError, OneHubApi } from "./api.js";
import { $, avatar, field, formatTime, h, show } from "./dom.js";
import { clearErrors, describe, showError, traceUrl } from "./errors.js";
import { PushStream } from "./push.js";
import {
  clearCredentials, loadCredentials, loadUnread, saveCredentials, storeUnread,
} from "./session.js";
import { startAction, startTracing } from "./telemetry.js";

const NARROW = matchMedia("(max-width: 640px)");

/**
 * @typedef {object} PageState
 * @property {import("./api.js").OneHubApi | null} api
 * @property {string} me
 * @property {Map<string, any>} topics
 * @property {string} topicsNextKey
 * @property {any} topic
 * @property {any[]} messages
 * @property {string} olderKey
 * @property {boolean} hasOlder
 * @property {Map<string, any>} users
 * @property {Map<string, number>} unread
 * @property {number} openSeq
 * @property {import("./push.js").PushStream | null} push
 * @property {number | undefined} catchUpTimer
 * @property {number} lastCatchUp
 */

/** @type {PageState} */
const state = {
  api: null,
  me: "",
  topics: new Map(), // id -> topic, as listed and as pushed
  topicsNextKey: "",
  topic: null, // the open topic
  messages: [], // the open topic's loaded messages, oldest first
  olderKey: "",
  hasOlder: false,
  users: new Map(), // id -> user, or null when the id has no user record
  unread: new Map(), // topic id -> messages from others that came while it was not open
  openSeq: 0, // bumps on every topic switch, so late answers for an old topic are dropped
  push: null,
  catchUpTimer: undefined,
  lastCatchUp: 0,
};

// ---- actions: each is a span (under the click that caused it), a status line and a trace --

// Run one person's action. Its calls run in its trace; the status line says how it went and
// links its trace. A 401 means the credentials no longer work; any other error is shown.
// `quiet`: work the page does by itself (catching up), which keeps the person's last status.
async function act(name, work, { quiet = false } = {}) {
  const action = startAction(name);
  try {
    const result = await work(/** @type {OneHubApi} */ (state.api).for(action));
    action.end();
    if (!quiet) showStatus(action, null);
    return result;
  } catch (error) {
    action.end(error);
    if (error.traceId) action.traceId = error.traceId;
    showStatus(action, error);
    if (error instanceof ApiError && error.status === 401) {
      signOut("Your user name or password was refused. Please sign in again.");
    } else {
      showError(error);
    }
    return undefined;
  }
}

function showStatus(action, error) {
  const line = $("status");
  const text = error ? `${action.name} failed` : `${action.name} \u2713`;
  const link = action.traceId
    ? h("a", { href: traceUrl(action.traceId), target: "_blank", rel: "noopener", class: "trace-link",
        title: `Trace ${action.traceId}`, dataset: { traceId: action.traceId } }, "trace")
    : null;
  line.replaceChildren(
    h("span", { class: error ? "status-text failed" : "status-text" }, text),
    h("span", { class: "muted" }, ` \u00b7 ${action.ms} ms`),
    // replaceChildren would write a null out as the text "null": no link, nothing.
    ...(link ? [" \u00b7 ", link] : []));
  show(line, true);
}

// ---- signing in and out ------------------------------------------------------------------

function showLogin(message = "") {
  stopLive();
  show($("app"), false);
  show($("login"), true);
  $("login-error").textContent = message;
  show($("login-error"), Boolean(message));
  $("login-user").focus();
}

async function signIn(event) {
  event.preventDefault();
  const credentials = { username: field("login-user").value.trim(), password: field("login-password").value };
  const action = startAction("Sign in");
  const api = new OneHubApi(credentials).for(action);
  const button = event.submitter || $("login-form").querySelector("button");
  button.disabled = true;
  let reply;
  try {
    reply = await api.listTopics();
    action.end();
  } catch (error) {
    action.end(error);
    const refused = error instanceof ApiError && error.status === 401;
    showLogin(refused ? "Wrong user name or password." : describe(error));
    if (!refused) showError(error);
    return;
  } finally {
    button.disabled = false;
  }
  saveCredentials(credentials);
  field("login-password").value = "";
  enter(new OneHubApi(credentials), reply, action);
}

function signOut(message = "") {
  clearCredentials();
  clearErrors();
  Object.assign(state, { api: null, me: "", topic: null, messages: [], topics: new Map() });
  state.users.clear();
  state.unread.clear();
  show($("status"), false);
  showLogin(message);
}

// `firstPage` and `action`: the topic list the sign-in already fetched, and that sign-in (whose
// status and trace link the page then shows).
/**
 * @param {OneHubApi} api
 * @param {any} [firstPage]
 * @param {import("./telemetry.js").Action | null} [action]
 */
async function enter(api, firstPage = null, action = null) {
  state.api = api;
  state.me = api.credentials.username;
  state.unread = loadUnread();
  show($("login"), false);
  show($("app"), true);
  $("whoami").replaceWith(Object.assign(avatar(state.me), { id: "whoami" }));
  $("whoami-name").textContent = state.me;
  showView("empty");
  startLive();
  if (firstPage) {
    takeTopics(firstPage, false);
    showStatus(action, null);
    await act("Look up members", (scoped) => lookUpUsers(scoped, memberIdsOfTopics()), { quiet: true });
  } else {
    await act("List topics", async (scoped) => {
      await loadTopics(scoped, false);
      await lookUpUsers(scoped, memberIdsOfTopics());
    });
  }
  renderTopics();
}

// ---- live updates ------------------------------------------------------------------------

function startLive() {
  stopLive();
  state.push = new PushStream(/** @type {OneHubApi} */ (state.api), {
    onEvent: onPushed,
    onOpen: (reconnected, ready) => {
      scheduleCatchUp(Number(ready.catchUpSeconds) || 0);
      if (reconnected) act("Catch up", catchUp, { quiet: true });
    },
    onRefused: () => signOut("Your user name or password was refused. Please sign in again."),
    // Shown as the dot by the user name: green while new messages arrive by themselves.
    onLive: (live) => { document.body.dataset.live = live ? "yes" : "no"; },
  });
  state.push.start();
}

function stopLive() {
  state.push?.stop();
  state.push = null;
  clearInterval(state.catchUpTimer);
  state.catchUpTimer = undefined;
}

// Messages posted through another server process reach us only by reading them: do so now and
// then, only while the tab is visible and a topic is open.
function scheduleCatchUp(seconds) {
  clearInterval(state.catchUpTimer);
  state.catchUpTimer = undefined;
  if (seconds <= 0) return;
  state.catchUpTimer = setInterval(() => {
    const due = Date.now() - state.lastCatchUp >= seconds * 1000;
    if (document.visibilityState === "visible" && state.topic && due) {
      act("Catch up", catchUp, { quiet: true });
    }
  }, 1000 * Math.max(5, seconds / 4));
}

async function catchUp(api) {
  state.lastCatchUp = Date.now();
  if (!state.topic) return;
  const seq = state.openSeq;
  const reply = await api.listMessages(state.topic.base.id);
  if (seq !== state.openSeq) return;
  await showArrived(api, reply.messages || []);
}

async function onPushed(name, payload) {
  if (name === "messages") {
    const open = state.topic?.base.id === payload.topicId;
    const messages = payload.messages || [];
    if (open) {
      await showArrived(state.api, messages);
    } else {
      const fromOthers = messages.filter((m) => m.base.creatorId !== state.me).length;
      if (fromOthers) {
        state.unread.set(payload.topicId, (state.unread.get(payload.topicId) || 0) + fromOthers);
        saveUnread();
        renderTopics();
      }
    }
  } else if (name === "topic" && payload.topic) {
    const topic = payload.topic;
    state.topics.set(topic.base.id, topic);
    if (state.topic?.base.id === topic.base.id) {
      state.topic = topic;
      await renderMembers();
      renderTopicHeader();
    }
    renderTopics();
  } else if (name === "topicDeleted") {
    state.topics.delete(payload.topicId);
    state.unread.delete(payload.topicId);
    saveUnread();
    if (state.topic?.base.id === payload.topicId) {
      state.openSeq++;
      state.topic = null;
      showView("empty");
    }
    renderTopics();
  } else if (name === "resync") {
    act("Catch up", async (api) => {
      await loadTopics(api, false);
      await catchUp(api);
    }, { quiet: true });
  }
}

// New messages of the open topic, whether pushed or read: add them, keep the reader's place.
async function showArrived(api, messages) {
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  if (!addNewMessages(messages)) return;
  await lookUpUsers(api, messages.map((m) => m.base.creatorId)).catch(() => {});
  renderMessages();
  if (atBottom) scrollToLatest();
}

// ---- topics ------------------------------------------------------------------------------

// Unread counts last as long as the tab, like the sign-in: a reload keeps them.
function saveUnread() {
  storeUnread(state.unread);
}

async function loadTopics(api, more) {
  takeTopics(await api.listTopics(more ? state.topicsNextKey : ""), more);
}

function takeTopics(reply, more) {
  if (!more) state.topics.clear();
  for (const topic of reply.topics || []) state.topics.set(topic.base.id, topic);
  state.topicsNextKey = reply.pagination?.hasMoreResults ? reply.pagination.nextPageKey : "";
  renderTopics();
}

function memberIdsOfTopics() {
  const ids = new Set();
  for (const topic of state.topics.values()) {
    ids.add(topic.base.creatorId);
    for (const id of memberIds(topic)) ids.add(id);
  }
  return [...ids];
}

function memberIds(topic) {
  return Object.entries(topic?.users || {}).filter(([, on]) => on).map(([id]) => id).sort();
}

function topicName(topic) {
  return topic.name || topic.base.id;
}

function renderTopics() {
  const filter = field("topic-filter").value.trim().toLowerCase();
  const sorted = [...state.topics.values()].sort((a, b) => topicName(a).localeCompare(topicName(b)));
  const shown = sorted.filter((topic) => !filter || topicName(topic).toLowerCase().includes(filter)
    || topic.base.id.toLowerCase().includes(filter));
  const items = shown.map((topic) => {
    const id = topic.base.id;
    const active = state.topic?.base.id === id;
    const unread = state.unread.get(id) || 0;
    return h("li", {},
      h("button", {
        type: "button",
        class: active ? "topic active" : "topic",
        "aria-current": active ? "true" : null,
        dataset: { topicId: id },
        onclick: () => act("Open topic", (api) => openTopic(api, id)),
      },
      h("span", { class: "topic-hash", "aria-hidden": "true" }, "#"),
      h("span", { class: "topic-name" }, topicName(topic)),
      unread
        ? h("span", { class: "badge unread", title: `${unread} unread`, "aria-label": `${unread} unread` }, unread)
        : null));
  });
  if (!items.length) {
    items.push(h("li", { class: "muted empty-topics" }, filter ? "No topic matches." : "No topics yet."));
  }
  $("topic-list").replaceChildren(...items);
  show($("more-topics"), Boolean(state.topicsNextKey));
}

async function createTopic(event) {
  event.preventDefault();
  const name = field("new-topic-name").value.trim();
  if (!name) return;
  await act("Create topic", async (api) => {
    const reply = await api.createTopic(name);
    field("new-topic-name").value = "";
    field("topic-filter").value = "";
    state.topics.set(reply.topic.base.id, reply.topic);
    renderTopics();
    await openTopic(api, reply.topic.base.id);
  });
}

// ---- the open topic and its messages -----------------------------------------------------

async function openTopic(api, topicId) {
  const seq = ++state.openSeq;
  // Known from the topic list or a push; only a topic we never saw costs a call of its own.
  let topic = state.topics.get(topicId);
  if (!topic) {
    topic = (await api.getTopic(topicId)).topic;
    if (seq !== state.openSeq) return;
    state.topics.set(topicId, topic);
  }
  Object.assign(state, { topic, messages: [], olderKey: "", hasOlder: false, lastCatchUp: Date.now() });
  state.unread.delete(topicId);
  saveUnread();
  showView("topic");
  document.body.classList.remove("topics-open");
  renderTopics();
  renderTopicHeader();
  $("message-list").replaceChildren();
  await loadOlder(api, seq);
  if (seq !== state.openSeq) return;
  await renderMembers();
  scrollToLatest();
  // Ready to type, unless the person already went on typing somewhere else meanwhile.
  const active = document.activeElement;
  if (!active || active === document.body || active.closest(".sidebar")) $("composer-text").focus();
}

async function loadOlder(api, seq = state.openSeq) {
  const list = $("messages");
  const heightBefore = list.scrollHeight;
  const reply = await api.listMessages(state.topic.base.id, state.olderKey);
  if (seq !== state.openSeq) return;
  const known = new Set(state.messages.map((m) => m.base.id));
  const older = (reply.messages || []).filter((m) => !known.has(m.base.id)).reverse();
  state.messages = [...older, ...state.messages];
  state.hasOlder = Boolean(reply.pagination?.hasMoreResults);
  state.olderKey = state.hasOlder ? reply.pagination.nextPageKey : "";
  await lookUpUsers(api, older.map((m) => m.base.creatorId));
  renderMessages();
  // Keep the messages the reader was looking at in place as older ones appear above them.
  list.scrollTop += list.scrollHeight - heightBefore;
}

function addNewMessages(messages) {
  const known = new Set(state.messages.map((m) => m.base.id));
  const fresh = messages.filter((m) => !known.has(m.base.id) && m.topicId === state.topic?.base.id);
  if (!fresh.length) return false;
  state.messages = [...state.messages, ...fresh].sort(
    (a, b) => Date.parse(a.base.createdAt) - Date.parse(b.base.createdAt));
  return true;
}

async function sendMessage(event) {
  event?.preventDefault();
  const box = field("composer-text");
  const text = box.value.trim();
  if (!text || !state.topic) return;
  const seq = state.openSeq;
  box.disabled = true;
  const reply = await act("Send message", (api) => api.sendMessage(state.topic.base.id, text));
  box.disabled = false;
  box.focus();
  if (!reply || seq !== state.openSeq) return;
  box.value = "";
  autoGrow();
  addNewMessages(reply.messages || []);
  renderMessages();
  scrollToLatest();
}

function renderTopicHeader() {
  const topic = state.topic;
  $("topic-title").textContent = `# ${topicName(topic)}`;
  const created = topic.base.createdAt ? ` · created ${formatTime(topic.base.createdAt)}` : "";
  const count = memberIds(topic).length;
  const members = ` · ${count} member${count === 1 ? "" : "s"}`;
  $("topic-subtitle").textContent = `by ${displayName(topic.base.creatorId)}${created}${members}`;
  $("topic-subtitle").title = `topic id ${topic.base.id}`;
}

function messageItem(message, { showTopic = false } = {}) {
  const author = message.base.creatorId;
  const mine = author === state.me;
  const name = state.topics.get(message.topicId)?.name || message.topicId;
  return h("li", { class: mine ? "message mine" : "message", dataset: { id: message.base.id } },
    avatar(author, displayName(author)),
    h("div", { class: "message-body" },
      h("div", { class: "message-meta" },
        h("strong", {}, displayName(author)),
        h("time", { datetime: message.base.createdAt }, formatTime(message.base.createdAt)),
        showTopic
          ? h("button", { type: "button", class: "link",
              onclick: () => act("Open topic", (api) => openTopic(api, message.topicId)) },
              `in #${name}`)
          : null),
      h("p", { class: "message-text" }, message.contentBase?.contentText || "")));
}

function renderMessages() {
  $("message-list").replaceChildren(...state.messages.map((m) => messageItem(m)));
  show($("load-older"), state.hasOlder);
  show($("no-messages"), !state.messages.length);
}

function scrollToLatest() {
  const list = $("messages");
  list.scrollTop = list.scrollHeight;
}

// ---- users -------------------------------------------------------------------------------

function displayName(userId) {
  return state.users.get(userId)?.name || userId;
}

// Names for the ids not yet looked up, in one call; each id is asked for once per session.
async function lookUpUsers(api, userIds) {
  const unknown = [...new Set(userIds)].filter((id) => id && !state.users.has(id)).slice(0, 1000);
  if (!unknown.length) return;
  for (const id of unknown) state.users.set(id, null);
  try {
    const reply = await api.getUsers(unknown);
    for (const [id, user] of Object.entries(reply?.users || {})) state.users.set(id, user);
  } catch (error) {
    for (const id of unknown) state.users.delete(id); // ask again next time
    throw error;
  }
}

// ---- members -----------------------------------------------------------------------------

async function renderMembers() {
  const members = memberIds(state.topic);
  const items = members.map((id) =>
    h("li", { class: "member" },
      avatar(id, displayName(id)),
      h("span", { class: "member-name" }, displayName(id), id === state.me ? " (you)" : ""),
      h("button", {
        type: "button", class: "icon remove", title: `Remove ${id}`, "aria-label": `Remove ${id}`,
        onclick: () => act("Remove member", (api) => editMembers(api, { remove: [id] })),
      }, "\u00d7")));
  if (!items.length) items.push(h("li", { class: "muted" }, "No members yet."));
  $("member-list").replaceChildren(...items);
}

async function editMembers(api, change) {
  const reply = await api.editMembers(state.topic.base.id, change);
  state.topic = reply.topic;
  state.topics.set(reply.topic.base.id, reply.topic);
  renderTopics();
  renderTopicHeader();
  await renderMembers();
}

class NoSuchUser extends Error {
  constructor(userId) {
    super(`there is no user with the id \u201c${userId}\u201d`);
    this.name = "NoSuchUser";
    this.operation = "Add member";
  }
}

async function addMember(event) {
  event.preventDefault();
  const userId = field("add-member-id").value.trim();
  if (!userId || !state.topic) return;
  show($("add-member-error"), false);
  const added = await act("Add member", async (api) => {
    // The API refuses unknown ids too (a 400); asking first gives a mistyped id its own message.
    if (!state.users.get(userId)) {
      state.users.delete(userId);
      await lookUpUsers(api, [userId]);
      if (!state.users.get(userId)) throw new NoSuchUser(userId);
    }
    await editMembers(api, { add: [userId] });
    return true;
  });
  if (added) {
    field("add-member-id").value = "";
  } else if (!state.users.get(userId)) {
    $("add-member-error").textContent = `No user \u201c${userId}\u201d: check the id.`;
    show($("add-member-error"), true);
  }
}

// ---- search ------------------------------------------------------------------------------

async function search(event) {
  event.preventDefault();
  const phrase = field("search-input").value.trim();
  if (!phrase) return;
  await act("Search messages", async (api) => {
    const reply = await api.searchMessages(phrase);
    const found = reply.messages || [];
    await lookUpUsers(api, found.map((m) => m.base.creatorId));
    state.openSeq++;
    state.topic = null;
    renderTopics();
    showView("search");
    $("search-title").textContent = `Results for \u201c${phrase}\u201d`;
    const more = reply.pagination?.hasMoreResults ? " (newest shown first; refine to see others)" : "";
    $("search-subtitle").textContent = `${found.length} message${found.length === 1 ? "" : "s"}${more}`;
    const items = found.map((m) => messageItem(m, { showTopic: true }));
    if (!items.length) items.push(h("li", { class: "muted center" }, "Nothing matched."));
    $("search-results").replaceChildren(...items);
  });
}

// ---- layout ------------------------------------------------------------------------------

function showView(view) {
  show($("empty-state"), view === "empty");
  show($("topic-view"), view === "topic");
  show($("search-view"), view === "search");
  show($("members-panel"), view === "topic" && $("toggle-members").getAttribute("aria-expanded") === "true");
  // On a narrow screen, with nothing open the topic list is what there is to see.
  document.body.classList.toggle("topics-open", view === "empty");
  $("show-topics").setAttribute("aria-expanded", String(view === "empty"));
}

function autoGrow() {
  const box = field("composer-text");
  box.style.height = "auto";
  box.style.height = `${Math.min(box.scrollHeight, 200)}px`;
}

function wire() {
  $("login-form").addEventListener("submit", signIn);
  $("logout").addEventListener("click", () => signOut());
  $("refresh-topics").addEventListener("click", () => act("List topics", async (api) => {
    await loadTopics(api, false);
    await lookUpUsers(api, memberIdsOfTopics());
  }));
  $("more-topics").addEventListener("click", () => act("More topics", async (api) => {
    await loadTopics(api, true);
    await lookUpUsers(api, memberIdsOfTopics());
  }));
  $("topic-filter").addEventListener("input", renderTopics);
  $("new-topic-form").addEventListener("submit", createTopic);
  $("load-older").addEventListener("click", () => act("Load older messages", (api) => loadOlder(api)));
  $("composer").addEventListener("submit", sendMessage);
  $("composer-text").addEventListener("input", autoGrow);
  $("composer-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) sendMessage(event);
  });
  $("search-form").addEventListener("submit", search);
  $("close-search").addEventListener("click", () => showView(state.topic ? "topic" : "empty"));
  $("add-member-form").addEventListener("submit", addMember);
  $("toggle-members").addEventListener("click", () => {
    const button = $("toggle-members");
    button.setAttribute("aria-expanded", String(button.getAttribute("aria-expanded") !== "true"));
    showView("topic");
  });
  $("show-topics").addEventListener("click", () => {
    const open = !document.body.classList.contains("topics-open");
    document.body.classList.toggle("topics-open", open);
    $("show-topics").setAttribute("aria-expanded", String(open));
  });
  // Back to the tab after a while: read what the stream may have missed meanwhile.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && state.topic && !state.push?.connected) {
      act("Catch up", catchUp, { quiet: true });
    }
  });
}

await startTracing();
wire();
// On a narrow screen the members drawer would cover the conversation: start it closed.
if (matchMedia("(max-width: 900px)").matches || NARROW.matches) {
  $("toggle-members").setAttribute("aria-expanded", "false");
}
const saved = loadCredentials();
if (saved) enter(new OneHubApi(saved));
else showLogin();
