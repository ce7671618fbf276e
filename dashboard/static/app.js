// The dashboard's page: no dependency, no build step. Signed in with the platform's session cookie
// (Better Auth's /api/auth/sign-in/email); every call goes to the dashboard's API on this origin.
// A query run from Functions stays live: it is the subscription _system/dashboard:run over the
// platform's sync protocol, pushed again whenever the query's answer may have changed.

import { sync } from "./sync.js";

const $ = (selector, root = document) => root.querySelector(selector);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null) node.append(child);
  }
  return node;
};

const state = { me: null, organization: null, catalogue: null, members: [], selected: null, logTimer: null, stopRun: null };

class ApiError extends Error {
  constructor(status, body) {
    super(body?.errorMessage || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(method, name, params = {}) {
  const organization = state.organization;
  let url = `/dashboard/api/${name}`;
  const init = { method, credentials: "same-origin", headers: {} };
  if (method === "GET") {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries({ organization, ...params })) {
      if (value !== undefined && value !== null && value !== "") query.set(key, value);
    }
    url += `?${query}`;
  } else {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify({ organization, ...params });
  }
  const response = await fetch(url, init);
  const body = await response.json().catch(() => null);
  if (!response.ok || body?.status !== "success") throw new ApiError(response.status, body);
  return body.value;
}

function show(id) {
  for (const section of document.querySelectorAll("main > section")) section.hidden = section.id !== id;
}

// ------------------------------------------------------------------ sign-in and the caller

async function start() {
  try {
    state.me = await api("GET", "me");
  } catch (error) {
    if (error.status === 401) return showSignIn();
    if (error.status === 403) {
      show("refused");
      $("#refused-message").textContent = error.message;
      $("#sign-out").hidden = false;
      return;
    }
    throw error;
  }
  state.organization = state.me.organization;
  $("#who").textContent = `${state.me.email || state.me.userId} · ${state.me.role}`;
  $("#sign-out").hidden = false;
  $("#nav").hidden = false;
  const picker = $("#org");
  picker.replaceChildren(
    ...state.me.organizations.map((o) => el("option", { value: o.id, selected: o.id === state.organization }, o.name || o.id)),
  );
  $("#org-picker").hidden = state.me.role !== "platform_owner";
  route();
}

function showSignIn() {
  show("sign-in");
  $("#nav").hidden = true;
}

$("#sign-in-form")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const response = await fetch("/api/auth/sign-in/email", {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: form.get("email"), password: form.get("password") }),
  });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    $("#sign-in-error").textContent = body.message || body.errorMessage || `Sign-in failed (${response.status})`;
    return;
  }
  $("#sign-in-error").textContent = "";
  await start();
});

$("#sign-out").addEventListener("click", async () => {
  await fetch("/api/auth/sign-out", { method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" }, body: "{}" });
  location.hash = "";
  location.reload();
});

$("#org").addEventListener("change", (event) => {
  state.organization = event.target.value;
  state.catalogue = null;
  route();
});

// ------------------------------------------------------------------ pages

// Pages in scripts of their own register here: dashboard.pages[name] = { open(query) }.
const pages = {};
window.dashboard = { $, el, api, show, state, pages };

function route() {
  if (!state.me) return;
  const [page, query] = (location.hash.slice(1) || "functions").split("?");
  for (const link of document.querySelectorAll("#nav a")) link.classList.toggle("active", link.dataset.page === page);
  clearInterval(state.logTimer);
  if (page !== "functions") stopRun();
  if (pages[page]) return pages[page].open(new URLSearchParams(query || ""));
  if (page === "logs") return openLogs(new URLSearchParams(query || ""));
  return openFunctions();
}

window.addEventListener("hashchange", route);

// ------------------------------------------------------------------ Functions

async function openFunctions() {
  show("page-functions");
  if (!state.catalogue) {
    [state.catalogue, state.members] = await Promise.all([api("GET", "functions"), api("GET", "members")]);
  }
  renderFunctionList();
}

function renderFunctionList() {
  const filter = $("#function-filter").value.trim().toLowerCase();
  $("#function-list").replaceChildren(
    ...state.catalogue.functions
      .filter((f) => !filter || f.path.toLowerCase().includes(filter))
      .map((f) =>
        el(
          "li",
          { class: state.selected?.path === f.path ? "active" : "", "data-path": f.path, onclick: () => selectFunction(f) },
          f.path,
          el("span", { class: "kind" }, f.kind),
        ),
      ),
  );
}

$("#function-filter").addEventListener("input", renderFunctionList);

function resolve(schema) {
  let current = schema || {};
  for (let depth = 0; current.$ref && depth < 10; depth += 1) {
    current = state.catalogue.components[current.$ref.split("/").pop()] || {};
  }
  if (Array.isArray(current.anyOf)) {
    const options = current.anyOf.filter((s) => s.type !== "null");
    if (options.length === 1) return { ...resolve(options[0]), nullable: true, description: current.description, default: current.default };
  }
  return current;
}

function fieldFor(name, schema, required, example) {
  const resolved = resolve(schema);
  const id = `arg-${name}`;
  const label = `${name}${required ? " *" : ""}`;
  const hint = [resolved.type || (resolved.enum ? "enum" : "JSON"), resolved.description, example === undefined ? null : `e.g. ${JSON.stringify(example)}`]
    .filter(Boolean)
    .join(" · ");
  let input;
  if (resolved.enum) {
    input = el("select", { id, name }, el("option", { value: "" }, ""), ...resolved.enum.map((v) => el("option", { value: JSON.stringify(v) }, String(v))));
    input.dataset.kind = "json";
  } else if (resolved.type === "boolean") {
    input = el("select", { id, name }, el("option", { value: "" }, ""), el("option", { value: "true" }, "true"), el("option", { value: "false" }, "false"));
    input.dataset.kind = "json";
  } else if (resolved.type === "integer" || resolved.type === "number") {
    input = el("input", { id, name, type: "number", step: resolved.type === "integer" ? "1" : "any", placeholder: example });
    input.dataset.kind = "json";
  } else if (resolved.type === "string") {
    input = el("input", { id, name, type: "text", size: 48, placeholder: example });
    input.dataset.kind = "string";
  } else {
    input = el("textarea", { id, name, rows: 3, placeholder: example === undefined ? undefined : JSON.stringify(example) });
    input.dataset.kind = "json";
  }
  input.dataset.required = required ? "1" : "";
  return el("div", { class: "field" }, el("label", { for: id }, label), input, el("small", {}, hint));
}

function stopRun() {
  state.stopRun?.();
  state.stopRun = null;
}

function selectFunction(fn) {
  stopRun();
  state.selected = fn;
  renderFunctionList();
  const schema = resolve(fn.schema);
  const properties = schema.properties || {};
  const required = new Set(schema.required || []);
  const example = fn.example || {};
  const members = state.members.map((m) => el("option", { value: m.userId }, `${m.name || m.email || m.userId} (${m.role})`));
  const form = el(
    "form",
    { id: "run-form", onsubmit: (event) => runFunction(event, fn) },
    el("div", { class: "field" }, el("label", { for: "run-as" }, "Run as"), el("select", { id: "run-as", name: "_as" }, ...members)),
    ...Object.entries(properties).map(([name, property]) => fieldFor(name, property, required.has(name), example[name])),
    el("button", { type: "submit", id: "run" }, "Run"),
  );
  const owner = state.members.find((m) => m.userId === state.me.userId);
  if (owner) form.querySelector("#run-as").value = owner.userId;
  $("#function-detail").replaceChildren(
    el("div", { class: "card" }, el("h2", {}, fn.path), el("p", { class: "muted" }, `${fn.kind} · ${fn.auth}`), el("p", {}, fn.description || "")),
    el("div", { class: "card" }, form),
    el("div", { id: "run-result" }),
  );
}

function collectArgs(form) {
  const args = {};
  for (const input of form.querySelectorAll("[name]")) {
    if (input.name === "_as") continue;
    const raw = input.value.trim();
    if (raw === "") continue;
    if (input.dataset.kind === "string") args[input.name] = input.value;
    else {
      try {
        args[input.name] = JSON.parse(raw);
      } catch {
        throw new Error(`${input.name} is not JSON`);
      }
    }
  }
  return args;
}

function renderRun(run, live) {
  const ok = run.result.status === "success";
  const when = live ? el("span", { class: "badge", id: "run-live" }, `live · ${new Date().toLocaleTimeString()}`) : null;
  $("#run-result").replaceChildren(
    el(
      "div",
      { class: "card", id: "run-outcome" },
      el("p", {}, el("strong", { class: ok ? "ok" : "error", id: "run-status" }, ok ? "success" : run.result.errorData?.code || "error"), ` in ${run.durationMs} ms as ${run.as.name || run.as.userId} (${run.as.role}) `, when),
      el("p", {}, "request id ", el("code", { id: "run-request-id" }, run.requestId), " · ", el("a", { href: `#logs?requestId=${encodeURIComponent(run.requestId)}`, id: "run-logs" }, "its log lines")),
      ok ? null : el("p", { class: "error" }, run.result.errorMessage),
      el("pre", { id: "run-value" }, JSON.stringify(ok ? run.result.value : run.result.errorData, null, 2)),
    ),
  );
}

async function runFunction(event, fn) {
  event.preventDefault();
  stopRun();
  const out = $("#run-result");
  let args;
  try {
    args = collectArgs(event.target);
  } catch (error) {
    out.replaceChildren(el("p", { class: "error" }, error.message));
    return;
  }
  out.replaceChildren(el("p", { class: "muted" }, "Running…"));
  const userId = $("#run-as").value;
  if (fn.kind === "query") {
    // a query stays live: every answer the server pushes replaces the last
    state.stopRun = sync.subscribe(
      "_system/dashboard:run",
      { organization: state.organization, userId, path: fn.path, args },
      (run) => renderRun(run, true),
      (error) => out.replaceChildren(el("p", { class: "error" }, `${error.data?.code || ""} ${error.message}`)),
    );
    return;
  }
  try {
    renderRun(await api("POST", "run", { path: fn.path, args, userId }), false);
  } catch (error) {
    out.replaceChildren(el("p", { class: "error" }, `${error.body?.errorData?.code || ""} ${error.message}`));
  }
}

// ------------------------------------------------------------------ Logs

function lineRow(line) {
  const call = line.message === "call";
  const outcome = call ? (line.status === "success" ? "ok" : `${line.code} (${line.http_status})`) : `${line.level} ${line.message}`;
  const caller = line.user_id ? `${line.role} ${line.user_id}` : "anonymous";
  const row = el(
    "tr",
    { class: `line ${call && line.status === "error" ? "error" : ""}`, "data-request-id": line.request_id || "" },
    el("td", { class: "mono" }, new Date(line._t).toLocaleTimeString()),
    el("td", { class: "mono" }, line.function || ""),
    el("td", {}, caller),
    el("td", {}, outcome),
    el("td", {}, call ? String(line.duration_ms) : ""),
    el("td", { class: "mono" }, line.request_id || ""),
  );
  row.addEventListener("click", () => {
    if (row.nextSibling?.classList?.contains("detail")) return row.nextSibling.remove();
    row.after(el("tr", { class: "detail" }, el("td", { colspan: 6 }, el("pre", {}, JSON.stringify(line, null, 2)))));
  });
  return row;
}

async function openLogs(query) {
  show("page-logs");
  const form = $("#log-filters");
  for (const name of ["function", "status", "text", "requestId"]) {
    if (query.has(name)) form.elements[name].value = query.get(name);
  }
  await loadLogs();
}

$("#log-filters").addEventListener("submit", (event) => {
  event.preventDefault();
  loadLogs();
});

async function loadLogs() {
  clearInterval(state.logTimer);
  const form = $("#log-filters");
  const filters = {};
  for (const name of ["function", "status", "text", "requestId", "since"]) filters[name] = form.elements[name].value.trim();
  const body = $("#log-table tbody");
  const seen = new Set();
  let after = null;
  const add = (lines) => {
    for (const line of lines) {
      if (seen.has(line._id)) continue;
      seen.add(line._id);
      body.prepend(lineRow(line));
      after = Math.max(after || 0, line._t);
    }
  };
  body.replaceChildren();
  try {
    add((await api("GET", "logs", filters)).lines);
  } catch (error) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: 6, class: "error" }, error.message)));
    return;
  }
  $("#live").textContent = "live";
  state.logTimer = setInterval(async () => {
    if (location.hash.slice(1).split("?")[0] !== "logs") return clearInterval(state.logTimer);
    try {
      add((await api("GET", "logs", { ...filters, since: "", after: after ?? Date.now() - 60000 })).lines);
    } catch {
      $("#live").textContent = "reconnecting…";
    }
  }, 2000);
}

start();
