// OneHub's chat front end: sign in, topics, messages, search and members over the REST API.

import { ApiError, OneHubApi } from "./api.js";
import { $, avatar, formatTime, h, show } from "./dom.js";
import { clearErrors, describe, showError } from "./errors.js";
import { clearCredentials, loadCredentials, saveCredentials } from "./session.js";

const POLL_MS = 4000;

const state = {
  api: null,
  me: "",
  topics: new Map(), // id -> topic, in the server's order (by name)
  topicsNextKey: "",
  topic: null, // the open topic
  messages: [], // the open topic's loaded messages, oldest first
  olderKey: "",
  hasOlder: false,
  users: new Map(), // id -> user, or null when the id has no user record
  openSeq: 0, // bumps on every topic switch, so late answers for an old topic are dropped
  pollTimer: null,
};

// Run one user action; a 401 means the credentials no longer work, anything else is shown.
async function run(action) {
  try {
    return await action();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      signOut("Your user name or password was refused. Please sign in again.");
    } else {
      showError(error);
    }
    return undefined;
  }
}

// ---- signing in and out ------------------------------------------------------------------

function showLogin(message = "") {
  stopPolling();
  show($("app"), false);
  show($("login"), true);
  $("login-error").textContent = message;
  show($("login-error"), Boolean(message));
  $("login-user").focus();
}

async function signIn(event) {
  event.preventDefault();
  const credentials = { username: $("login-user").value.trim(), password: $("login-password").value };
  const api = new OneHubApi(credentials);
  const button = event.submitter || $("login-form").querySelector("button");
  button.disabled = true;
  try {
    await api.checkCredentials();
  } catch (error) {
    const refused = error instanceof ApiError && error.status === 401;
    showLogin(refused ? "Wrong user name or password." : describe(error));
    if (!refused) showError(error);
    return;
  } finally {
    button.disabled = false;
  }
  saveCredentials(credentials);
  $("login-password").value = "";
  enter(api);
}

function signOut(message = "") {
  clearCredentials();
  clearErrors();
  Object.assign(state, { api: null, me: "", topic: null, messages: [], topics: new Map() });
  state.users.clear();
  showLogin(message);
}

function enter(api) {
  state.api = api;
  state.me = api.credentials.username;
  show($("login"), false);
  show($("app"), true);
  $("whoami").replaceWith(Object.assign(avatar(state.me), { id: "whoami" }));
  $("whoami-name").textContent = state.me;
  showView("empty");
  run(() => loadTopics(false));
}

// ---- topics ------------------------------------------------------------------------------

async function loadTopics(more) {
  const reply = await state.api.listTopics(more ? state.topicsNextKey : "");
  if (!more) state.topics.clear();
  for (const topic of reply.topics || []) state.topics.set(topic.base.id, topic);
  state.topicsNextKey = reply.pagination?.hasMoreResults ? reply.pagination.nextPageKey : "";
  renderTopics();
}

function memberCount(topic) {
  return Object.values(topic.users || {}).filter(Boolean).length;
}

function renderTopics() {
  const items = [...state.topics.values()].map((topic) => {
    const active = state.topic?.base.id === topic.base.id;
    return h("li", {},
      h("button", {
        type: "button",
        class: active ? "topic active" : "topic",
        "aria-current": active ? "true" : null,
        onclick: () => run(() => openTopic(topic.base.id)),
      },
      h("span", { class: "topic-hash", "aria-hidden": "true" }, "#"),
      h("span", { class: "topic-name" }, topic.name || topic.base.id),
      h("span", { class: "badge", title: "members" }, memberCount(topic))));
  });
  if (!items.length) items.push(h("li", { class: "muted empty-topics" }, "No topics yet."));
  $("topic-list").replaceChildren(...items);
  show($("more-topics"), Boolean(state.topicsNextKey));
}

async function createTopic(event) {
  event.preventDefault();
  const name = $("new-topic-name").value.trim();
  if (!name) return;
  const reply = await run(() => state.api.createTopic(name));
  if (!reply) return;
  $("new-topic-name").value = "";
  state.topics.set(reply.topic.base.id, reply.topic);
  await run(() => openTopic(reply.topic.base.id));
}

// ---- the open topic and its messages -----------------------------------------------------

async function openTopic(topicId) {
  const seq = ++state.openSeq;
  stopPolling();
  const { topic } = await state.api.getTopic(topicId);
  if (seq !== state.openSeq) return;
  Object.assign(state, { topic, messages: [], olderKey: "", hasOlder: false });
  state.topics.set(topicId, topic);
  showView("topic");
  renderTopics();
  await renderMembers();
  renderTopicHeader();
  $("message-list").replaceChildren();
  await loadOlder(seq);
  scrollToLatest();
  // Ready to type, unless the person already went on typing somewhere else meanwhile.
  const active = document.activeElement;
  if (!active || active === document.body || active.closest(".sidebar")) $("composer-text").focus();
  startPolling();
}

async function loadOlder(seq = state.openSeq) {
  const list = $("messages");
  const heightBefore = list.scrollHeight;
  const reply = await state.api.listMessages(state.topic.base.id, state.olderKey);
  if (seq !== state.openSeq) return;
  const known = new Set(state.messages.map((m) => m.base.id));
  const older = (reply.messages || []).filter((m) => !known.has(m.base.id)).reverse();
  state.messages = [...older, ...state.messages];
  state.hasOlder = Boolean(reply.pagination?.hasMoreResults);
  state.olderKey = state.hasOlder ? reply.pagination.nextPageKey : "";
  await lookUpUsers(older.map((m) => m.base.creatorId));
  renderMessages();
  // Keep the messages the reader was looking at in place as older ones appear above them.
  list.scrollTop += list.scrollHeight - heightBefore;
}

function addNewMessages(messages) {
  const known = new Set(state.messages.map((m) => m.base.id));
  const fresh = messages.filter((m) => !known.has(m.base.id));
  if (!fresh.length) return false;
  state.messages = [...state.messages, ...fresh].sort(
    (a, b) => Date.parse(a.base.createdAt) - Date.parse(b.base.createdAt));
  return true;
}

async function sendMessage(event) {
  event?.preventDefault();
  const box = $("composer-text");
  const text = box.value.trim();
  if (!text || !state.topic) return;
  const seq = state.openSeq;
  box.disabled = true;
  const reply = await run(() => state.api.sendMessage(state.topic.base.id, text));
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
  $("topic-title").textContent = `# ${topic.name || topic.base.id}`;
  const created = topic.base.createdAt ? ` · created ${formatTime(topic.base.createdAt)}` : "";
  $("topic-subtitle").textContent = `by ${displayName(topic.base.creatorId)}${created} · id ${topic.base.id}`;
}

function messageItem(message, { showTopic = false } = {}) {
  const author = message.base.creatorId;
  const mine = author === state.me;
  const topicName = state.topics.get(message.topicId)?.name || message.topicId;
  return h("li", { class: mine ? "message mine" : "message", dataset: { id: message.base.id } },
    avatar(author, displayName(author)),
    h("div", { class: "message-body" },
      h("div", { class: "message-meta" },
        h("strong", {}, displayName(author)),
        h("time", { datetime: message.base.createdAt }, formatTime(message.base.createdAt)),
        showTopic
          ? h("button", { type: "button", class: "link", onclick: () => run(() => openTopic(message.topicId)) },
              `in #${topicName}`)
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

// New messages from others: re-read the newest page now and then while the topic is open.
function startPolling() {
  stopPolling();
  state.pollTimer = setInterval(async () => {
    if (document.visibilityState !== "visible" || !state.topic) return;
    const seq = state.openSeq;
    const list = $("messages");
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    try {
      const reply = await state.api.listMessages(state.topic.base.id);
      if (seq !== state.openSeq || !addNewMessages(reply.messages || [])) return;
      await lookUpUsers(state.messages.map((m) => m.base.creatorId));
      renderMessages();
      if (atBottom) scrollToLatest();
    } catch (error) {
      // Show it once, then stop asking until the user does something.
      stopPolling();
      await run(() => Promise.reject(error));
    }
  }, POLL_MS);
}

function stopPolling() {
  clearInterval(state.pollTimer);
  state.pollTimer = null;
}

// ---- users -------------------------------------------------------------------------------

function displayName(userId) {
  return state.users.get(userId)?.name || userId;
}

async function lookUpUsers(userIds) {
  const unknown = [...new Set(userIds)].filter((id) => id && !state.users.has(id));
  if (!unknown.length) return;
  for (const id of unknown) state.users.set(id, null); // ask once per id
  const reply = await run(() => state.api.getUsers(unknown));
  for (const [id, user] of Object.entries(reply?.users || {})) state.users.set(id, user);
}

// ---- members -----------------------------------------------------------------------------

async function renderMembers() {
  const members = Object.entries(state.topic?.users || {}).filter(([, on]) => on).map(([id]) => id).sort();
  await lookUpUsers([...members, state.topic?.base.creatorId]);
  const items = members.map((id) =>
    h("li", { class: "member" },
      avatar(id, displayName(id)),
      h("span", { class: "member-name" }, displayName(id), id === state.me ? " (you)" : ""),
      h("button", {
        type: "button", class: "icon remove", title: `Remove ${id}`, "aria-label": `Remove ${id}`,
        onclick: () => run(() => editMembers({ remove: [id] })),
      }, "\u00d7")));
  if (!items.length) items.push(h("li", { class: "muted" }, "No members yet."));
  $("member-list").replaceChildren(...items);
}

async function editMembers(change) {
  const reply = await state.api.editMembers(state.topic.base.id, change);
  state.topic = reply.topic;
  state.topics.set(reply.topic.base.id, reply.topic);
  renderTopics();
  await renderMembers();
}

async function addMember(event) {
  event.preventDefault();
  const userId = $("add-member-id").value.trim();
  if (!userId || !state.topic) return;
  const added = await run(async () => {
    await editMembers({ add: [userId] });
    return true;
  });
  if (added) $("add-member-id").value = "";
}

// ---- search ------------------------------------------------------------------------------

async function search(event) {
  event.preventDefault();
  const phrase = $("search-input").value.trim();
  if (!phrase) return;
  const reply = await run(() => state.api.searchMessages(phrase));
  if (!reply) return;
  const found = reply.messages || [];
  await lookUpUsers(found.map((m) => m.base.creatorId));
  stopPolling();
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
}

// ---- layout ------------------------------------------------------------------------------

function showView(view) {
  show($("empty-state"), view === "empty");
  show($("topic-view"), view === "topic");
  show($("search-view"), view === "search");
  show($("members-panel"), view === "topic" && $("toggle-members").getAttribute("aria-expanded") === "true");
}

function autoGrow() {
  const box = $("composer-text");
  box.style.height = "auto";
  box.style.height = `${Math.min(box.scrollHeight, 200)}px`;
}

function wire() {
  $("login-form").addEventListener("submit", signIn);
  $("logout").addEventListener("click", () => signOut());
  $("refresh-topics").addEventListener("click", () => run(() => loadTopics(false)));
  $("more-topics").addEventListener("click", () => run(() => loadTopics(true)));
  $("new-topic-form").addEventListener("submit", createTopic);
  $("load-older").addEventListener("click", () => run(() => loadOlder()));
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
}

wire();
// On a narrow screen the members drawer would cover the conversation: start it closed.
if (matchMedia("(max-width: 900px)").matches) $("toggle-members").setAttribute("aria-expanded", "false");
const saved = loadCredentials();
if (saved) enter(new OneHubApi(saved));
else showLogin();
