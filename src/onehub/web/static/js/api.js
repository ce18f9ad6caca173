// A client for OneHub's REST API under /api/v1 (grpc-gateway JSON conventions, see docs/api.md).
// Every failure becomes an ApiError that carries what a person needs to follow it up: the
// operation, the HTTP status, the gRPC code and message, and the trace id of the call.

import { basicAuthorization } from "./session.js";

const GRPC_CODE_NAMES = [
  "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
  "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
  "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
];

export const TOPIC_PAGE_SIZE = 50;
export const MESSAGE_PAGE_SIZE = 30;

export class ApiError extends Error {
  /**
   * @param {{operation: string, status: number, code?: number | null, message: string,
   *   traceId?: string | null}} details
   */
  constructor({ operation, status, code = null, message, traceId = null }) {
    super(message);
    this.name = "ApiError";
    this.operation = operation;
    this.status = status;
    this.code = code;
    this.traceId = traceId;
  }

  get codeName() {
    return this.code === null ? null : GRPC_CODE_NAMES[this.code] || `CODE_${this.code}`;
  }
}

// The trace id from a W3C Trace Context `traceresponse` header ("00-<trace id>-<span id>-<flags>").
export function traceIdFrom(headerValue) {
  const match = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/i.exec((headerValue || "").trim());
  return match && !/^0+$/.test(match[1]) ? match[1].toLowerCase() : null;
}

export class OneHubApi {
  constructor(credentials, base = "/api/v1") {
    this.credentials = credentials;
    this.base = base;
    this.action = null;
  }

  // This client for the calls of one person's action (telemetry.js startAction): they run in
  // its trace context, so `traceparent` names its span, and their trace ids are noted on it.
  for(action) {
    const scoped = Object.create(this);
    scoped.action = action;
    return scoped;
  }

  /**
   * @param {string} operation
   * @param {string} method
   * @param {string} path
   * @param {{query?: Record<string, any>, body?: any}} [options]
   */
  async call(operation, method, path, { query = {}, body = undefined } = {}) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      for (const item of [].concat(value)) {
        if (item !== undefined && item !== null && item !== "") params.append(name, item);
      }
    }
    const url = `${this.base}${path}${params.size ? `?${params}` : ""}`;
    const headers = {
      Accept: "application/json",
      Authorization: basicAuthorization(this.credentials),
      // Asks servers that honour it not to trigger the browser's own password dialog on a 401.
      "X-Requested-With": "XMLHttpRequest",
    };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const send = () => fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
    let response;
    try {
      response = await (this.action ? this.action.run(send) : send());
    } catch (error) {
      throw new ApiError({ operation, status: 0, message: `cannot reach the server (${error.message})` });
    }
    const traceId = traceIdFrom(response.headers.get("traceresponse"));
    if (traceId && this.action) this.action.traceId = traceId;
    const payload = await response.json().catch(() => null);
    if (!response.ok) {
      const known = payload && typeof payload === "object";
      throw new ApiError({
        operation,
        status: response.status,
        code: known && Number.isInteger(payload.code) ? payload.code : null,
        message: (known && payload.message) || response.statusText || "request failed",
        traceId,
      });
    }
    if (payload === null) {
      throw new ApiError({ operation, status: response.status, message: "the server sent no JSON", traceId });
    }
    return payload;
  }

  // One cheap authenticated call, to tell whether the credentials work.
  checkCredentials() {
    return this.call("Sign in", "GET", "/topics", { query: { "pagination.page_size": 1 } });
  }

  listTopics(pageKey = "") {
    return this.call("List topics", "GET", "/topics", {
      query: { "pagination.page_size": TOPIC_PAGE_SIZE, "pagination.page_key": pageKey },
    });
  }

  createTopic(name) {
    return this.call("Create topic", "POST", "/topics", { body: { topic: { name } } });
  }

  getTopic(topicId) {
    return this.call("Open topic", "GET", `/topics/${encodeURIComponent(topicId)}`);
  }

  editMembers(topicId, { add = [], remove = [] }) {
    return this.call("Change members", "PATCH", `/topics/${encodeURIComponent(topicId)}`, {
      body: { topic: { base: { id: topicId } }, addUsers: add, removeUsers: remove },
    });
  }

  // Newest first, one page at a time: the search call with a topic filter and a sort order is
  // what gives a chat its "load older" paging (ListMessages pages oldest first).
  listMessages(topicId, pageKey = "") {
    return this.call("List messages", "GET", "/messages", {
      query: {
        topic_id: topicId,
        order_by: "-created_at",
        "pagination.page_size": MESSAGE_PAGE_SIZE,
        "pagination.page_key": pageKey,
      },
    });
  }

  sendMessage(topicId, text) {
    return this.call("Send message", "POST", `/topics/${encodeURIComponent(topicId)}/messages`, {
      body: { messages: [{ contentBase: { contentType: "text/plain", contentText: text } }] },
    });
  }

  searchMessages(phrase) {
    return this.call("Search messages", "GET", "/messages", {
      query: { search_phrase: phrase, order_by: "-created_at", "pagination.page_size": 50 },
    });
  }

  getUsers(userIds) {
    return this.call("Look up users", "GET", "/users:batchGet", { query: { ids: userIds } });
  }

  // The open stream of pushed events (push.js reads it); not traced: it lasts as long as the tab.
  openEvents(signal) {
    return fetch("/web/events", {
      headers: { Accept: "text/event-stream", Authorization: basicAuthorization(this.credentials) },
      credentials: "omit",
      cache: "no-store",
      signal,
    });
  }
}
