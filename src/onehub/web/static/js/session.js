// The signed-in user's credentials, kept in sessionStorage: they last as long as the tab and
// are never written to disk-backed storage or cookies.

const KEY = "onehub.credentials";
const UNREAD_KEY = "onehub.unread";

export function loadCredentials() {
  try {
    const stored = JSON.parse(sessionStorage.getItem(KEY) || "null");
    if (stored && typeof stored.username === "string" && typeof stored.password === "string") {
      return stored;
    }
  } catch {
    // Unreadable (edited by hand, or storage disabled): treat as signed out.
  }
  return null;
}

export function saveCredentials(credentials) {
  sessionStorage.setItem(KEY, JSON.stringify(credentials));
}

export function clearCredentials() {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(UNREAD_KEY);
}

// Unread counts per topic id (a Map), for the tab's lifetime.
export function loadUnread() {
  try {
    const stored = JSON.parse(sessionStorage.getItem(UNREAD_KEY) || "{}");
    return new Map(Object.entries(stored).filter(([, count]) => Number.isInteger(count) && count > 0));
  } catch {
    return new Map();
  }
}

export function storeUnread(unread) {
  sessionStorage.setItem(UNREAD_KEY, JSON.stringify(Object.fromEntries(unread)));
}

// The value of an HTTP Basic Authorization header; user names and passwords may be any UTF-8.
export function basicAuthorization({ username, password }) {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `Basic ${btoa(binary)}`;
}
