// The pushed events of /web/events (server-sent events, read with fetch so the stream can carry
// the Authorization header). Reconnects on its own with a growing pause; `onOpen(reconnected)`
// lets the page re-read what it may have missed while the stream was down.

const MIN_RETRY_MS = 1000;
const MAX_RETRY_MS = 30000;

export class PushStream {
  /**
   * @param {import("./api.js").OneHubApi} api
   * @param {{onEvent: (name: string, payload: any) => void,
   *   onOpen: (reconnected: boolean, payload: any) => void,
   *   onRefused: () => void, onLive?: (connected: boolean) => void}} handlers
   */
  constructor(api, { onEvent, onOpen, onRefused, onLive = (_connected) => {} }) {
    this.api = api;
    this.onEvent = onEvent;
    this.onOpen = onOpen;
    this.onRefused = onRefused;
    this.onLive = onLive;
    this.abort = null;
    this.stopped = false;
    this.connected = false;
    this.opens = 0;
  }

  start() {
    this.stopped = false;
    this.loop();
  }

  stop() {
    this.stopped = true;
    this.setConnected(false);
    this.abort?.abort();
  }

  setConnected(connected) {
    if (connected === this.connected) return;
    this.connected = connected;
    this.onLive(connected);
  }

  async loop() {
    let retryMs = MIN_RETRY_MS;
    while (!this.stopped) {
      this.abort = new AbortController();
      try {
        const response = await this.api.openEvents(this.abort.signal);
        if (response.status === 401) {
          this.stopped = true;
          this.onRefused();
          return;
        }
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        retryMs = MIN_RETRY_MS;
        await this.read(response.body);
      } catch (error) {
        if (this.stopped) return;
        console.debug("event stream closed:", error.message || error);
      } finally {
        this.setConnected(false);
      }
      if (this.stopped) return;
      await new Promise((resolve) => setTimeout(resolve, retryMs));
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    }
  }

  async read(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        this.dispatch(frame);
      }
    }
  }

  dispatch(frame) {
    let name = "message";
    const data = [];
    for (const line of frame.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") name = value;
      else if (field === "data") data.push(value);
    }
    if (!data.length) return;
    let payload;
    try {
      payload = JSON.parse(data.join("\n"));
    } catch {
      return;
    }
    if (name === "ready") {
      this.setConnected(true);
      this.onOpen(this.opens++ > 0, payload);
      return;
    }
    this.onEvent(name, payload);
  }
}
