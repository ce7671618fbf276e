// Drives Convex's own npm clients (convex 1.49.0, ws 8.23.0) against a server that
// speaks Convex's HTTP API and WebSocket sync protocol.
//
// Usage: node convex_scenarios.mjs '{"url":"http://127.0.0.1:PORT","scenario":"http",...}'
//
// Prints exactly one JSON line on stdout: {"ok":true,...} or {"ok":false,"error":"...",...}
// and exits 0 either way (1 only if the script itself crashes).
import { randomUUID } from "node:crypto";
import { createRequire, register } from "node:module";
import { pathToFileURL } from "node:url";
import WebSocket from "ws";
import { ConvexClient, ConvexHttpClient } from "convex/browser";
import { getFunctionName, makeFunctionReference } from "convex/server";

// stdout carries exactly one line: send anything else that prints to stderr.
for (const level of ["log", "info", "debug", "warn"]) {
  console[level] = (...args) => console.error(...args);
}

const obs = { uncaught: [] };
const openClients = []; // ConvexClient / ConvexReactClient instances to close at the end
const openSockets = []; // raw ws sockets to close at the end
let finished = false;

// A creator's bio lives in its typed properties.
const bioOf = (v) => v?.properties?.bio ?? v?.bio;

function describeError(e) {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}
process.on("uncaughtException", (e) => obs.uncaught.push(describeError(e)));
process.on("unhandledRejection", (e) => obs.uncaught.push(describeError(e)));

// ---------------------------------------------------------------- helpers

function errInfo(e) {
  const info = {
    name: e?.constructor?.name ?? typeof e,
    message: e?.message ?? String(e),
    code: e?.data?.code,
  };
  // fetch() failures ("fetch failed") keep the real reason in .cause.
  if (e?.cause) info.cause = e.cause.message ?? String(e.cause);
  return info;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Resolves with the predicate's (truthy) result, or rejects after `ms`.
function waitFor(predicate, ms, label) {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const tick = () => {
      let result;
      try {
        result = predicate();
      } catch (e) {
        reject(e);
        return;
      }
      if (result) {
        resolve(result);
      } else if (Date.now() - start >= ms) {
        reject(new Error(`timed out after ${ms} ms waiting for ${label}`));
      } else {
        setTimeout(tick, 10);
      }
    };
    tick();
  });
}

function withTimeout(promise, ms, label) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${ms} ms waiting for ${label}`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function need(cfg, ...keys) {
  for (const key of keys) {
    if (cfg[key] === undefined || cfg[key] === null) {
      throw new Error(`missing config field "${key}"`);
    }
  }
}

const ref = (name) => makeFunctionReference(name);

// `undefined` (e.g. a mutation returning nothing) would vanish from the JSON.
const orNull = (v) => (v === undefined ? null : v);

function httpClient(cfg, token) {
  const client = new ConvexHttpClient(cfg.url, {
    skipConvexDeploymentUrlCheck: true,
    logger: false,
  });
  if (token) client.setAuth(token);
  return client;
}

// A ConvexClient (WebSocket). `label` names its auth-change log in obs.auth.
function wsClient(cfg, token, label) {
  const client = new ConvexClient(cfg.url, {
    webSocketConstructor: WebSocket,
    skipConvexDeploymentUrlCheck: true,
    logger: false,
  });
  openClients.push(client);
  if (token) {
    obs.auth ??= {};
    const changes = (obs.auth[label] = []);
    client.setAuth(
      async () => token,
      (isAuthenticated) => changes.push(isAuthenticated),
    );
  }
  return client;
}

// convex/react imports "react" (a peer dependency). The ConvexReactClient class
// never calls React, but the module graph does import it and calls
// React.createContext at load time. If react is not installed, a loader hook
// resolves "react" (and only when it cannot be resolved) to a tiny stub.
const REACT_STUB = `
const unavailable = (name) => () => { throw new Error("react stub: " + name + " needs the real react package"); };
export const createContext = (defaultValue) => ({ Provider: "Provider", Consumer: "Consumer", _currentValue: defaultValue });
export const createElement = () => null;
export const useCallback = unavailable("useCallback");
export const useContext = unavailable("useContext");
export const useEffect = unavailable("useEffect");
export const useMemo = unavailable("useMemo");
export const useState = unavailable("useState");
export default { createContext, createElement, useCallback, useContext, useEffect, useMemo, useState };
`;
const REACT_HOOKS = `
const STUB_URL = ${JSON.stringify("data:text/javascript," + encodeURIComponent(REACT_STUB))};
export async function resolve(specifier, context, nextResolve) {
  if (specifier === "react") {
    try { return await nextResolve(specifier, context); }
    catch { return { url: STUB_URL, shortCircuit: true }; }
  }
  return nextResolve(specifier, context);
}
`;

async function loadConvexReact() {
  try {
    createRequire(import.meta.url).resolve("react");
    obs.reactStub = false;
  } catch {
    register("data:text/javascript," + encodeURIComponent(REACT_HOOKS));
    obs.reactStub = true;
  }
  return await import("convex/react");
}

// ---------------------------------------------------------------- scenarios

// 1. ConvexHttpClient: values, errors, wrong kinds.
async function scenarioHttp(cfg, T) {
  need(cfg, "token", "creatorId", "bio", "orgName");
  const http = httpClient(cfg, cfg.token);
  const anon = httpClient(cfg, null);
  const failures = [];

  const expectValue = async (key, call) => {
    try {
      obs[key] = orNull(await withTimeout(call(), T, key));
    } catch (e) {
      obs[`${key}Error`] = errInfo(e);
      failures.push(`${key}: ${e?.message ?? e}`);
    }
  };
  const expectError = async (key, call) => {
    try {
      obs[key] = { unexpectedValue: orNull(await withTimeout(call(), T, key)) };
      failures.push(`${key}: expected an error, got a value`);
    } catch (e) {
      obs[key] = errInfo(e);
      if (e?.message?.startsWith("timed out after")) failures.push(`${key}: ${e.message}`);
    }
  };

  const id = cfg.creatorId;
  await expectValue("get", () => http.query(ref("creators:get"), { id }));
  await expectValue("update", () =>
    http.mutation(ref("creators:update"), { id, bio: cfg.bio }),
  );
  await expectValue("after", () => http.query(ref("creators:get"), { id }));
  if (obs.after && bioOf(obs.after) !== cfg.bio) {
    failures.push(`after: bio is ${JSON.stringify(bioOf(obs.after))}, expected ${JSON.stringify(cfg.bio)}`);
  }
  await expectValue("action", () =>
    http.action(ref("organizations:create"), { name: cfg.orgName }),
  );
  await expectError("badArgs", () => http.query(ref("creators:get"), { id: "not-an-id" }));
  await expectError("noAuth", () =>
    anon.query(ref("connections:list"), { entityId: id, paginationOpts: { numItems: 5, cursor: null } }),
  );
  await expectError("unknown", () => http.query(ref("creators:nope"), {}));
  try {
    obs.camel = {
      value: orNull(
        await withTimeout(
          http.query(ref("creators:getWithContent"), { creatorId: id }),
          T,
          "camel",
        ),
      ),
    };
  } catch (e) {
    obs.camel = { error: errInfo(e) };
  }
  await expectError("wrongKind", () => http.mutation(ref("creators:get"), { id }));

  if (failures.length) throw new Error(failures.join("; "));
}

// 2. ConvexClient subscription sees its own WS mutation and an HTTP mutation.
async function scenarioReactive(cfg, T) {
  need(cfg, "token", "creatorId");
  const id = cfg.creatorId;
  const client = wsClient(cfg, cfg.token, "main");
  const seen = []; // {bio, at}
  const updates = (obs.updates = []);
  const errors = (obs.subscriptionErrors = []);
  client.onUpdate(
    ref("creators:get"),
    { id },
    (value) => {
      const bio = orNull(bioOf(value));
      updates.push(bio);
      seen.push({ bio, at: Date.now() });
    },
    (e) => errors.push(errInfo(e)),
  );
  await waitFor(() => seen.length || errors.length, T, "the first creators:get value");
  if (!seen.length) throw new Error(`subscription failed: ${errors[0].message}`);

  // Resolves with the time the bio first shows up in an update at index >= from.
  const seenAfter = (from, bio, label) =>
    waitFor(() => seen.slice(from).find((s) => s.bio === bio)?.at, T, label);

  obs.latencyMs = {};
  let from = seen.length;
  let sentAt = Date.now();
  obs.mutationResult = orNull(
    await withTimeout(
      client.mutation(ref("creators:update"), { id, bio: "ws-1" }),
      T,
      "the WebSocket creators:update mutation",
    ),
  );
  obs.latencyMs.ws = (await seenAfter(from, "ws-1", 'an update with bio "ws-1"')) - sentAt;
  // an action over the socket (ActionResponse), and a typed error from one
  obs.actionResult = orNull(
    await withTimeout(
      client.action(ref("organizations:create"), { name: "Made over the socket" }),
      T,
      "the WebSocket organizations:create action",
    ),
  );
  try {
    await withTimeout(client.action(ref("organizations:create"), { name: "" }), T, "a failing action");
    obs.actionError = { unexpectedValue: true };
  } catch (e) {
    obs.actionError = errInfo(e);
  }

  const http = httpClient(cfg, cfg.token2 ?? cfg.token);
  from = seen.length;
  sentAt = Date.now();
  obs.httpMutationResult = orNull(
    await withTimeout(
      http.mutation(ref("creators:update"), { id, bio: "http-2" }),
      T,
      "the HTTP creators:update mutation",
    ),
  );
  obs.latencyMs.http =
    (await seenAfter(from, "http-2", 'an update with bio "http-2"')) - sentAt;
}

// The creators:list value: an array, or an object holding one.
function listOf(value) {
  if (Array.isArray(value)) return value;
  for (const key of ["page", "items", "creators", "results", "data"]) {
    if (Array.isArray(value?.[key])) return value[key];
  }
  return [];
}

// 3. A listing subscription sees a new creator; another organization never does.
async function scenarioListing(cfg, T) {
  need(cfg, "token", "email", "name");
  const args = { limit: 50 };
  const subscribe = (token, label, updates, counts, errors) => {
    const client = wsClient(cfg, token, label);
    client.onUpdate(
      ref("creators:list"),
      args,
      (value) => {
        const list = listOf(value);
        updates.push(list.map((c) => orNull(c?.name)));
        counts.push(list.length);
      },
      (e) => errors.push(errInfo(e)),
    );
  };

  const updates = (obs.updates = []);
  const counts = (obs.counts = []);
  const errors = (obs.errors = []);
  subscribe(cfg.token, "main", updates, counts, errors);

  let otherUpdates, otherErrors;
  if (cfg.otherToken) {
    otherUpdates = obs.otherUpdates = [];
    obs.otherCounts = [];
    otherErrors = obs.otherErrors = [];
    subscribe(cfg.otherToken, "other", otherUpdates, obs.otherCounts, otherErrors);
  }

  await waitFor(() => updates.length || errors.length, T, "the first creators:list value");
  if (!updates.length) throw new Error(`listing subscription failed: ${errors[0].message}`);
  if (cfg.otherToken) {
    await waitFor(
      () => otherUpdates.length || otherErrors.length,
      T,
      "the other organization's first creators:list value",
    );
  }

  const http = httpClient(cfg, cfg.token);
  obs.created = orNull(
    await withTimeout(
      http.mutation(ref("creators:create"), {
        email: cfg.email,
        name: cfg.name,
        niche: ["demo"],
      }),
      T,
      "creators:create",
    ),
  );
  await waitFor(
    () => updates.some((names) => names.includes(cfg.name)),
    T,
    `a listing update containing ${JSON.stringify(cfg.name)}`,
  );
  if (cfg.otherToken) {
    await sleep(1000);
    obs.otherSawName = otherUpdates.some((names) => names.includes(cfg.name));
  }
}

// 4. A forged token: the subscription errors, the client stays usable.
async function scenarioForged(cfg, T) {
  need(cfg, "creatorId");
  const forged = "forged-token-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
  const client = wsClient(cfg, forged, "forged");
  // a query that needs a session (creators:get is public: anyone reads a creator's profile)
  const args = { entityId: cfg.creatorId, paginationOpts: { numItems: 5, cursor: null } };
  client.onUpdate(
    ref("connections:list"),
    args,
    (value) => {
      obs.result ??= { value: orNull(value) };
    },
    (e) => {
      obs.result ??= { error: errInfo(e) };
    },
  );

  const http = httpClient(cfg, forged);
  try {
    obs.http = {
      unexpectedValue: orNull(
        await withTimeout(
          http.query(ref("connections:list"), args),
          T,
          "the forged HTTP query",
        ),
      ),
    };
  } catch (e) {
    obs.http = errInfo(e);
  }

  await waitFor(() => obs.result, T, "the forged subscription's value or error");
  await sleep(1000);
  try {
    obs.connectionState = client.connectionState();
    obs.alive = true;
  } catch (e) {
    obs.alive = false;
    obs.connectionStateError = errInfo(e);
  }
}

function balanceNumber(b) {
  const n = typeof b === "object" && b !== null ? (b.amount ?? b.balance) : b;
  return typeof n === "number" || typeof n === "bigint" ? Number(n) : NaN;
}

// 5. The reference's TokenPurchase component calls, through ConvexReactClient.
async function scenarioPurchase(cfg, T) {
  need(cfg, "token", "tokenId", "amount", "usdAmount");
  const { ConvexReactClient } = await loadConvexReact();
  const client = new ConvexReactClient(cfg.url, {
    webSocketConstructor: WebSocket,
    skipConvexDeploymentUrlCheck: true,
    logger: false,
  });
  openClients.push(client);
  obs.auth = { react: [] };
  client.setAuth(
    async () => cfg.token,
    (isAuthenticated) => obs.auth.react.push(isAuthenticated),
  );

  const balances = (obs.balances = []);
  const balanceErrors = (obs.balanceErrors = []);
  const watch = client.watchQuery(ref("tokens:getBalance"), { tokenId: cfg.tokenId });
  watch.onUpdate(() => {
    try {
      balances.push(orNull(watch.localQueryResult()));
    } catch (e) {
      balanceErrors.push(errInfo(e));
    }
  });

  obs.token = orNull(
    await withTimeout(
      client.query(ref("tokens:get"), { id: cfg.tokenId }),
      T,
      "tokens:get",
    ),
  );

  await waitFor(
    () => balances.length || balanceErrors.length,
    T,
    "the first tokens:getBalance value",
  );
  if (!balances.length) throw new Error(`balance watch failed: ${balanceErrors[0].message}`);
  const initial = balanceNumber(balances[0]);
  obs.initialBalance = initial;
  const target = initial + Number(cfg.amount);

  obs.purchase = orNull(
    await withTimeout(
      client.mutation(ref("tokens:purchase"), {
        tokenId: cfg.tokenId,
        amount: cfg.amount,
        usdAmount: cfg.usdAmount,
      }),
      T,
      "tokens:purchase",
    ),
  );
  await waitFor(
    () => balances.some((b) => balanceNumber(b) >= target),
    T,
    `a balance >= ${target}`,
  );
  obs.finalBalance = balanceNumber(balances[balances.length - 1]);
}

// Summarise a received frame: parsed JSON, shortened when it is large.
function summarize(text) {
  let msg;
  try {
    msg = JSON.parse(text);
  } catch {
    return { unparsed: text.slice(0, 500), length: text.length };
  }
  if (text.length <= 4000) return msg;
  return {
    type: msg?.type,
    length: text.length,
    truncated: true,
    modifications: Array.isArray(msg?.modifications)
      ? msg.modifications.map((m) => ({
          type: m?.type,
          queryId: m?.queryId,
          errorMessage: m?.errorMessage?.slice?.(0, 500),
          errorData: m?.errorData,
        }))
      : undefined,
  };
}

// A raw socket that records every frame and its close.
function openRaw(url, T) {
  const ws = new WebSocket(url);
  const rec = { ws, received: [], closed: null, errors: [] };
  openSockets.push(ws);
  ws.on("message", (data) => rec.received.push(summarize(data.toString())));
  ws.on("close", (code, reason) => {
    rec.closed = { code, reason: reason.toString() };
  });
  ws.on("error", (e) => rec.errors.push(e.message));
  rec.opened = new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("close", (code) => reject(new Error(`socket closed before opening (${code}): ${rec.errors.join("; ")}`)));
  });
  rec.opened.catch(() => {});
  rec.ready = withTimeout(rec.opened, T, `socket open ${url}`);
  return rec;
}

function connectMessage() {
  return JSON.stringify({
    type: "Connect",
    sessionId: randomUUID(),
    connectionCount: 0,
    lastCloseReason: "InitialConnect",
    clientTs: Date.now(),
  });
}

function modifyQuerySet(baseVersion, udfPath, args) {
  return JSON.stringify({
    type: "ModifyQuerySet",
    baseVersion,
    newVersion: baseVersion + 1,
    modifications: [{ type: "Add", queryId: 0, udfPath, args: [args] }],
  });
}

const shortSent = (m) => (m.length > 300 ? `${m.slice(0, 200)}...(${m.length} bytes)` : m);

// Send `messages` on `rec` (open), collect for `windowMs`, return the case record.
async function runCase(name, rec, messages, windowMs, extra = {}) {
  const result = { name, ...extra, sent: messages.map(shortSent), received: [], closed: null };
  try {
    await rec.ready;
  } catch (e) {
    result.openError = e.message;
    result.closed = rec.closed;
    return result;
  }
  const from = rec.received.length;
  for (const m of messages) {
    if (rec.ws.readyState !== WebSocket.OPEN) {
      result.sendError = "socket not open";
      break;
    }
    rec.ws.send(m);
  }
  await sleep(windowMs);
  result.received = rec.received.slice(from);
  result.closed = rec.closed;
  if (rec.errors.length) result.socketErrors = [...rec.errors];
  return result;
}

function closeRaw(rec) {
  try {
    if (rec.ws.readyState === WebSocket.OPEN || rec.ws.readyState === WebSocket.CONNECTING) {
      rec.ws.terminate();
    }
  } catch {
    // already gone
  }
}

// 6. Raw sync socket: bad input gets answered or closed, the server stays healthy.
async function scenarioSocketErrors(cfg, T) {
  const url = `${cfg.url.replace(/^http/, "ws")}/api/1.49.0/sync`;
  const windowMs = cfg.windowMs ?? 2000;
  const cases = (obs.cases = []);

  // "not json", then {"type":"Nope"} on the same socket (a fresh one if it was closed).
  let rec = openRaw(url, T);
  cases.push(await runCase("not-json", rec, ["not json"], windowMs));
  let fresh = false;
  if (rec.closed || rec.ws.readyState !== WebSocket.OPEN) {
    closeRaw(rec);
    rec = openRaw(url, T);
    fresh = true;
  }
  cases.push(
    await runCase("unknown-type", rec, [JSON.stringify({ type: "Nope" })], windowMs, {
      freshSocket: fresh,
    }),
  );
  closeRaw(rec);

  rec = openRaw(url, T);
  cases.push(
    await runCase(
      "wrong-base-version",
      rec,
      [connectMessage(), modifyQuerySet(5, "meta:openapi", {})],
      windowMs,
    ),
  );
  closeRaw(rec);

  rec = openRaw(url, T);
  const big = modifyQuerySet(0, "meta:openapi", { pad: "x".repeat(200 * 1024) });
  cases.push(await runCase("200KB-message", rec, [connectMessage(), big], windowMs));
  closeRaw(rec);

  rec = openRaw(url, T);
  cases.push(
    await runCase(
      "unknown-function",
      rec,
      [connectMessage(), modifyQuerySet(0, "nope:nothing", {})],
      windowMs,
    ),
  );
  closeRaw(rec);

  // A well-behaved client still gets served.
  obs.healthy = false;
  rec = openRaw(url, T);
  await rec.ready;
  rec.ws.send(connectMessage());
  if (cfg.token) {
    rec.ws.send(JSON.stringify({ type: "Authenticate", tokenType: "User", value: cfg.token, baseVersion: 0 }));
  }
  rec.ws.send(modifyQuerySet(0, "creators:list", { limit: 5 }));
  const isUpdate = (m) =>
    m?.type === "Transition" &&
    Array.isArray(m.modifications) &&
    m.modifications.some((mod) => mod?.type === "QueryUpdated" && mod.queryId === 0);
  const isFailure = (m) =>
    m?.type === "Transition" &&
    Array.isArray(m.modifications) &&
    m.modifications.some((mod) => mod?.type === "QueryFailed");
  try {
    await waitFor(
      () => rec.received.some((m) => isUpdate(m) || isFailure(m)) || rec.closed,
      T,
      "a Transition for creators:list",
    );
  } finally {
    obs.healthyReceived = rec.received.map((m) => ({
      type: m?.type,
      modifications: Array.isArray(m?.modifications)
        ? m.modifications.map((mod) => ({
            type: mod?.type,
            queryId: mod?.queryId,
            errorMessage: mod?.errorMessage,
          }))
        : undefined,
    }));
    obs.healthyClosed = rec.closed;
  }
  obs.healthy = rec.received.some(isUpdate);
  closeRaw(rec);
  if (!obs.healthy) throw new Error("creators:list did not arrive as a QueryUpdated");
}

// 7. Many concurrent HTTP writes; the WS client's version chain must hold.
async function scenarioChain(cfg, T) {
  need(cfg, "token", "creatorIds");
  const ids = cfg.creatorIds;
  if (!Array.isArray(ids) || !ids.length) throw new Error('"creatorIds" must be a non-empty array');
  const writes = cfg.writes ?? 40;
  const client = wsClient(cfg, cfg.token, "main");

  const bios = {};
  const updateCounts = {};
  const errors = (obs.subscriptionErrors = []);
  for (const id of ids) {
    updateCounts[id] = 0;
    client.onUpdate(
      ref("creators:get"),
      { id },
      (value) => {
        bios[id] = orNull(bioOf(value));
        updateCounts[id] += 1;
      },
      (e) => errors.push({ id, ...errInfo(e) }),
    );
  }
  obs.updateCounts = updateCounts;
  obs.final = bios;
  await waitFor(
    () => ids.every((id) => updateCounts[id] > 0) || errors.length,
    T,
    "the first value of every subscription",
  );
  if (errors.length) throw new Error(`subscription failed: ${errors[0].message}`);

  const http = httpClient(cfg, cfg.token);
  const calls = [];
  for (let i = 0; i < writes; i++) {
    const id = ids[i % ids.length];
    calls.push(
      http.mutation(ref("creators:update"), { id, bio: `c-${i}` }, { skipQueue: true }),
    );
  }
  const settled = await withTimeout(Promise.allSettled(calls), T, `${writes} mutations`);
  obs.writesOk = settled.filter((s) => s.status === "fulfilled").length;
  obs.writeErrors = settled
    .filter((s) => s.status === "rejected")
    .map((s) => errInfo(s.reason));

  // The writes ran concurrently, so the server decides which one landed last.
  const expected = (obs.expectedFinal = {});
  for (const id of ids) {
    const doc = await withTimeout(http.query(ref("creators:get"), { id }), T, "creators:get");
    expected[id] = orNull(bioOf(doc));
  }
  await waitFor(
    () => ids.every((id) => bios[id] === expected[id]),
    T,
    "every subscription to show its last bio",
  );
}

// 8. The reference's Astro page (src/pages/tokens/[id].astro): `new ConvexHttpClient(url)` with no
// session, `query(api.tokens.get, {id})`; documents that are not public read as null, a query that
// needs a session is UNAUTHENTICATED; an anonymous ConvexClient sees the token's description pushed.
async function scenarioPublic(cfg, T) {
  need(cfg, "tokenId", "hiddenIds", "ownerToken", "description");
  const convex = httpClient(cfg, null);
  obs.token = orNull(
    await withTimeout(convex.query(ref("tokens:get"), { id: cfg.tokenId }), T, "tokens:get"),
  );
  obs.hidden = [];
  for (const id of cfg.hiddenIds) {
    obs.hidden.push(orNull(await withTimeout(convex.query(ref("entities:get"), { id }), T, "entities:get")));
  }
  try {
    obs.memberOnly = {
      unexpectedValue: orNull(
        await withTimeout(
          convex.query(ref("entities:list"), { paginationOpts: { numItems: 5, cursor: null } }),
          T,
          "entities:list",
        ),
      ),
    };
  } catch (e) {
    obs.memberOnly = errInfo(e);
  }
  const client = wsClient(cfg, null, "anonymous");
  const live = (obs.live = []);
  const errors = (obs.liveErrors = []);
  client.onUpdate(
    ref("tokens:get"),
    { id: cfg.tokenId },
    (value) => live.push(orNull(value?.properties?.description)),
    (e) => errors.push(errInfo(e)),
  );
  await waitFor(() => live.length || errors.length, T, "the first anonymous tokens:get value");
  if (!live.length) throw new Error(`anonymous subscription failed: ${errors[0].message}`);
  const owner = httpClient(cfg, cfg.ownerToken);
  await withTimeout(
    owner.mutation(ref("tokens:update"), { id: cfg.tokenId, description: cfg.description }),
    T,
    "tokens:update",
  );
  await waitFor(() => live.includes(cfg.description), T, "the new description, pushed");
}

// 9. The generated `api` (`one codegen`'s api.js, imported as a frontend imports it): its
// references are Convex's `anyApi` paths, by the platform's own names, their camelCase and the
// reference's; `internal`'s are refused by the platform (internal functions are never reachable).
async function scenarioGenerated(cfg, T) {
  need(cfg, "generated", "token", "tokenId", "creatorId");
  const { api, internal } = await import(pathToFileURL(cfg.generated).href);
  obs.names = [
    api.tokens.getBalance,
    api.tokens.get_balance,
    api.creators.getCreatorWithContent,
    internal.tokens.start_purchase,
  ].map((reference) => getFunctionName(reference));
  const http = httpClient(cfg, cfg.token);
  obs.token = await withTimeout(http.query(api.tokens.get, { id: cfg.tokenId }), T, "api.tokens.get");
  obs.balance = await withTimeout(
    http.query(api.tokens.getBalance, { tokenId: cfg.tokenId }),
    T,
    "api.tokens.getBalance",
  );
  obs.creator = await withTimeout(
    http.query(api.creators.getCreatorWithContent, { creatorId: cfg.creatorId }),
    T,
    "api.creators.getCreatorWithContent",
  );
  try {
    obs.internal = {
      unexpectedValue: orNull(
        await withTimeout(
          http.action(internal.tokens.start_purchase, { purchaseId: cfg.tokenId }),
          T,
          "internal.tokens.start_purchase",
        ),
      ),
    };
  } catch (e) {
    obs.internal = errInfo(e);
  }
}

const SCENARIOS = {
  http: scenarioHttp,
  reactive: scenarioReactive,
  listing: scenarioListing,
  forged: scenarioForged,
  purchase: scenarioPurchase,
  "socket-errors": scenarioSocketErrors,
  chain: scenarioChain,
  public: scenarioPublic,
  generated: scenarioGenerated,
};

// ---------------------------------------------------------------- main

async function closeAll() {
  for (const ws of openSockets) {
    try {
      ws.terminate();
    } catch {
      // already gone
    }
  }
  await Promise.all(
    openClients.map((client) =>
      withTimeout(Promise.resolve().then(() => client.close()), 3000, "client.close()").catch(
        (e) => {
          obs.closeErrors ??= [];
          obs.closeErrors.push(describeError(e));
        },
      ),
    ),
  );
}

function bigintSafe(_key, value) {
  return typeof value === "bigint" ? Number(value) : value;
}

function emit(result, code) {
  if (finished) return;
  finished = true;
  let line;
  try {
    line = JSON.stringify(result, bigintSafe);
  } catch (e) {
    line = JSON.stringify({ ok: false, error: `could not serialize observations: ${e.message}` });
  }
  process.stdout.write(line + "\n", () => process.exit(code));
}

async function main() {
  let cfg;
  try {
    cfg = JSON.parse(process.argv[2] ?? "");
  } catch (e) {
    emit({ ok: false, error: `bad config JSON: ${e.message}`, ...obs }, 0);
    return;
  }
  const T = cfg.timeoutMs ?? 15000;
  const scenario = SCENARIOS[cfg.scenario];
  if (!cfg.url || !scenario) {
    emit({ ok: false, error: `need "url" and a known "scenario" (${Object.keys(SCENARIOS).join(", ")})`, ...obs }, 0);
    return;
  }

  // Last resort if something awaits forever without its own timeout.
  const watchdog = setTimeout(
    () => emit({ ok: false, error: "watchdog: scenario did not finish", ...obs }, 0),
    cfg.watchdogMs ?? T * 8 + 10000,
  );

  let ok = true;
  let error;
  try {
    await scenario(cfg, T);
  } catch (e) {
    ok = false;
    error = e?.message ?? String(e);
  }
  await closeAll();
  clearTimeout(watchdog);
  emit(ok ? { ok, ...obs } : { ok, error, ...obs }, 0);
}

main().catch((e) => emit({ ok: false, error: `crash: ${describeError(e)}`, ...obs }, 1));
