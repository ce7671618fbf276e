// The platform's sync protocol (Convex's, /api/sync) as the dashboard's pages use it: one WebSocket for
// the page, authenticated with the signed-in session's token, carrying the pages' subscriptions. Each
// subscription's callback gets every result the server pushes (a Transition), or its typed error.
// The socket reconnects by itself (1, 2, 4 … 30 s apart) and subscribes again to what is open.

const RECONNECT_MAX_MS = 30_000;

// Convex's JSON encoding of values JSON has no text for: an int64 past 2^53, a float such as NaN.
function decode(value) {
  if (Array.isArray(value)) return value.map(decode);
  if (value === null || typeof value !== "object") return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && typeof value[keys[0]] === "string") {
    const raw = () => Uint8Array.from(atob(value[keys[0]]), (c) => c.charCodeAt(0));
    if (keys[0] === "$integer") return Number(new DataView(raw().buffer).getBigInt64(0, true));
    if (keys[0] === "$float") return new DataView(raw().buffer).getFloat64(0, true);
    if (keys[0] === "$bytes") return raw();
  }
  return Object.fromEntries(keys.map((k) => [k, decode(value[k])]));
}

class SyncClient {
  constructor() {
    this.queries = new Map(); // queryId -> { path, args, onValue, onError }
    this.nextId = 1;
    this.version = 0; // the query set's version the server holds
    this.ws = null;
    this.open = false;
    this.connections = 0;
    this.closeReason = "InitialConnect";
    this.retryMs = 1000;
    this.sessionId = crypto.randomUUID();
    this.status = "connecting…";
    this.onstate = () => {};
  }

  // Call `fn` with the connection's state now ("connecting…", "live", "reconnecting…") and on change.
  watch(fn) {
    this.onstate = fn;
    fn(this.status);
  }

  setStatus(status) {
    this.status = status;
    this.onstate(status);
  }

  // Subscribe to the query `path` with `args`; returns the function that ends the subscription.
  subscribe(path, args, onValue, onError = () => {}) {
    const queryId = this.nextId++;
    this.queries.set(queryId, { path, args, onValue, onError });
    if (this.open) this.modify([{ type: "Add", queryId, udfPath: path, args: [args] }]);
    else this.connect();
    return () => {
      if (!this.queries.delete(queryId)) return;
      if (this.open) this.modify([{ type: "Remove", queryId }]);
    };
  }

  modify(modifications) {
    const baseVersion = this.version;
    this.version += 1;
    this.send({ type: "ModifyQuerySet", baseVersion, newVersion: this.version, modifications });
  }

  send(message) {
    this.ws.send(JSON.stringify(message));
  }

  async connect() {
    if (this.ws) return;
    const placeholder = {}; // no second socket while the token is fetched
    this.ws = placeholder;
    let token = null;
    try {
      const response = await fetch("/api/auth/get-session", { credentials: "same-origin" });
      token = (await response.json())?.session?.token ?? null;
    } catch {
      token = null;
    }
    if (this.ws !== placeholder) return;
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/sync`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => {
      this.open = true;
      this.version = 0;
      this.send({
        type: "Connect",
        sessionId: this.sessionId,
        connectionCount: this.connections,
        lastCloseReason: this.closeReason,
        clientTs: Date.now(),
      });
      if (token) this.send({ type: "Authenticate", tokenType: "User", value: token, baseVersion: 0 });
      const adds = [...this.queries].map(([queryId, q]) => ({ type: "Add", queryId, udfPath: q.path, args: [q.args] }));
      if (adds.length) this.modify(adds);
      this.setStatus("live");
    };
    ws.onmessage = (event) => this.receive(JSON.parse(event.data));
    ws.onclose = (event) => {
      this.ws = null;
      this.open = false;
      this.connections += 1;
      this.closeReason = event.reason || `closed ${event.code}`;
      this.setStatus("reconnecting…");
      if (!this.queries.size) return;
      const wait = this.retryMs;
      this.retryMs = Math.min(this.retryMs * 2, RECONNECT_MAX_MS);
      setTimeout(() => this.connect(), wait);
    };
  }

  receive(message) {
    if (message.type === "Transition") {
      this.retryMs = 1000;
      for (const m of message.modifications || []) {
        const q = this.queries.get(m.queryId);
        if (!q) continue;
        if (m.type === "QueryUpdated") q.onValue(decode(m.value));
        else if (m.type === "QueryFailed") q.onError({ message: m.errorMessage, data: decode(m.errorData ?? null) });
      }
    } else if (message.type === "AuthError" || message.type === "FatalError") {
      const error = { message: message.error || message.type, data: null };
      for (const q of this.queries.values()) q.onError(error);
      this.ws?.close();
    }
    // Ping: the server's heartbeat; nothing to answer.
  }
}

export const sync = new SyncClient();
