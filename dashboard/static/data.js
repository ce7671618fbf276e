// The dashboard's Data page: the schema's tables, an organization's documents through an index
// (newest first, a page at a time), a document with its connections, events and tags, and changes
// made by the tables' own functions. Its state lives in the URL: #data?table=&index=&<field>=&id=.
// The list and the open document are subscriptions (the system queries _system/dashboard:documents and
// _system/dashboard:document over the platform's sync protocol), pushed again when a document in the
// list, or the open document or what hangs from it, changes.

import { sync } from "./sync.js";

const { $, el, api, show, state, pages } = window.dashboard;

const NOT_FILTERS = new Set(["table", "index", "id"]);
const ID_FIELDS = ["fromEntityId", "toEntityId", "actorId", "targetId", "entityId", "sourceId"];
const TEMPLATES = {
  entities: { type: "blog_post", name: "", status: "draft", properties: {} },
  connections: { fromEntityId: "", toEntityId: "", relationshipType: "references" },
  tags: { entityId: "", key: "", value: "" },
};
const SINGULAR = { entities: "entity", connections: "connection", tags: "tag", events: "event", knowledge: "knowledge item" };
const RELATED = [
  ["connectionsFrom", "Connections from it"],
  ["connectionsTo", "Connections to it"],
  ["events", "Events about it"],
  ["tags", "Tags"],
];

const view = { tables: null, key: null, table: null, index: null, filters: {}, cursors: [null], docId: null, dirty: false, stop: null, listKey: null, stopDoc: null, docKey: null, onhash: null };

const link = (params, text, attrs = {}) => el("a", { href: `#data?${new URLSearchParams(params)}`, ...attrs }, text);
const time = (ms) => (ms ? new Date(ms).toLocaleString() : "");

function listParams() {
  return { table: view.table.name, index: view.index, ...view.filters };
}

function summary(table, doc) {
  if (table === "entities") return `${doc.type} · ${doc.name}${doc.status ? ` · ${doc.status}` : ""}`;
  if (table === "connections") return `${doc.fromEntityId} → ${doc.relationshipType} → ${doc.toEntityId}`;
  if (table === "events") return `${doc.type}${doc.metadata?.action ? ` (${doc.metadata.action})` : ""} · actor ${doc.actorId}${doc.targetId ? ` · target ${doc.targetId}` : ""}`;
  if (table === "tags") return `${doc.key} = ${doc.value} · on ${doc.entityId}`;
  if (table === "knowledge") return `${doc.kind} · ${String(doc.text || "").slice(0, 80)}`;
  return JSON.stringify(doc).slice(0, 100);
}

function problem(error) {
  const data = error.body?.errorData || error.errorData || {};
  const field = data.field ? ` (field: ${data.field})` : "";
  return `${data.code || "ERROR"}: ${error.body?.errorMessage || error.errorMessage || error.message}${field}`;
}

// ------------------------------------------------------------------ opening the page

async function open(query) {
  show("page-data");
  if (!view.tables) view.tables = (await api("GET", "tables")).tables;
  const table = view.tables.find((t) => t.name === (query.get("table") || "entities") && t.browsable) || view.tables.find((t) => t.name === "entities");
  const index = table.indexes.some((i) => i.name === query.get("index") && i.kind === "index") ? query.get("index") : table.defaultIndex || table.indexes[0].name;
  const filters = {};
  for (const [key, value] of query) if (!NOT_FILTERS.has(key) && value !== "") filters[key] = value;
  const key = JSON.stringify([state.organization, table.name, index, filters]);
  if (key !== view.key) Object.assign(view, { key, cursors: [null] });
  Object.assign(view, { table, index, filters });
  if (query.get("id") !== view.docId) Object.assign(view, { docId: query.get("id"), dirty: false });
  renderTables();
  renderFilters();
  renderCreate();
  sync.watch((text) => {
    const live = $("#data-live");
    if (live) live.textContent = text;
  });
  refresh();
  if (!view.onhash) {
    view.onhash = () => {
      if (location.hash.slice(1).split("?")[0] !== "data") leave();
    };
    window.addEventListener("hashchange", view.onhash);
  }
}

// Leaving the page ends its subscriptions.
function leave() {
  window.removeEventListener("hashchange", view.onhash);
  view.stop?.();
  view.stopDoc?.();
  Object.assign(view, { stop: null, listKey: null, stopDoc: null, docKey: null, onhash: null });
}

function renderTables() {
  const ordered = [...view.tables.filter((t) => t.browsable), ...view.tables.filter((t) => !t.browsable)];
  $("#data-tables").replaceChildren(
    ...ordered.map((t) =>
      el(
        "li",
        { class: `${t.name === view.table.name ? "active" : ""} ${t.browsable ? "" : "muted"}`, title: t.readOnly || t.description, "data-table": t.name },
        t.browsable ? link({ table: t.name }, t.name) : t.name,
        el("span", { class: "kind" }, t.browsable ? (t.readOnly ? "read-only" : "") : "platform"),
      ),
    ),
  );
  $("#data-table-note").textContent = `${view.table.description}${view.table.readOnly ? ` · Read-only: ${view.table.readOnly}` : ""}`;
}

function enumeration(field) {
  const t = view.table;
  if (field === "type") return t.types || t.eventTypes;
  if (field === "status") return t.statuses;
  if (field === "relationshipType") return t.relationshipTypes;
  return null;
}

function renderFilters() {
  const index = view.table.indexes.find((i) => i.name === view.index);
  const choices = view.table.indexes.filter((i) => i.kind === "index");
  const form = $("#data-filters");
  form.replaceChildren(
    el("label", {}, "Index ", el("select", { name: "index", id: "data-index" }, ...choices.map((i) => el("option", { value: i.name, selected: i.name === view.index }, `${i.name} (${i.fields.join(", ") || "creation time"})`)))),
    ...index.fields.map((field) => {
      const options = enumeration(field);
      const input = el("input", { name: field, value: view.filters[field] || "", list: options ? `data-list-${field}` : undefined, placeholder: index.required.includes(field) ? "required" : "any" });
      return el("label", {}, `${field} `, input, options ? el("datalist", { id: `data-list-${field}` }, ...options.map((o) => el("option", { value: o }))) : null);
    }),
    el("button", { type: "submit" }, "Show"),
    el("span", { id: "data-live", class: "muted" }),
  );
  form.elements.index.addEventListener("change", () => {
    location.hash = `#data?${new URLSearchParams({ table: view.table.name, index: form.elements.index.value })}`;
  });
}

$("#data-filters").addEventListener("submit", (event) => {
  event.preventDefault();
  const params = { table: view.table.name, index: event.target.elements.index.value };
  for (const input of event.target.querySelectorAll("input[name]")) if (input.value.trim()) params[input.name] = input.value.trim();
  location.hash = `#data?${new URLSearchParams(params)}`;
});

$("#data-older").addEventListener("click", () => {
  if (!view.next) return;
  view.cursors.push(view.next);
  refresh();
});

$("#data-newer").addEventListener("click", () => {
  if (view.cursors.length > 1) view.cursors.pop();
  refresh();
});

// ------------------------------------------------------------------ the list and the document

function refresh() {
  subscribeList();
  subscribeDocument();
}

// (Re)subscribe to the open document; nothing new when it is the same one.
function subscribeDocument() {
  const key = view.docId ? JSON.stringify([state.organization, view.docId]) : null;
  if (key === view.docKey) return;
  view.stopDoc?.();
  Object.assign(view, { stopDoc: null, docKey: key });
  if (!view.docId) return $("#data-document").replaceChildren();
  view.stopDoc = sync.subscribe(
    "_system/dashboard:document",
    { organization: state.organization, id: view.docId },
    renderDocument,
    (error) =>
      $("#data-document").replaceChildren(
        el("div", { class: "card" }, el("p", { class: "error", id: "data-document-error" }, problem({ errorData: error.data || {}, errorMessage: error.message }))),
      ),
  );
}

// (Re)subscribe to the page of the list the URL and the paging name; nothing new when it is the same.
function subscribeList() {
  const body = $("#data-documents tbody");
  const missing = view.table.indexes.find((i) => i.name === view.index).required.filter((f) => !view.filters[f]);
  if (missing.length) {
    view.stop?.();
    Object.assign(view, { stop: null, listKey: null, next: null });
    body.replaceChildren(el("tr", {}, el("td", { colspan: 3, class: "muted" }, `The index ${view.index} reads the documents of one ${missing.join(", ")}: give it above.`)));
    return;
  }
  const args = { organization: state.organization, table: view.table.name, index: view.index, filters: view.filters, numItems: 20 };
  const cursor = view.cursors[view.cursors.length - 1];
  if (cursor) args.cursor = cursor;
  const key = JSON.stringify(args);
  if (key === view.listKey) return renderList(view.page);
  view.stop?.();
  view.listKey = key;
  view.page = null;
  view.stop = sync.subscribe(
    "_system/dashboard:documents",
    args,
    (page) => {
      view.page = page;
      renderList(page);
    },
    (error) => body.replaceChildren(el("tr", {}, el("td", { colspan: 3, class: "error", id: "data-list-error" }, problem({ errorData: error.data || {}, errorMessage: error.message })))),
  );
}

function renderList(page) {
  if (!page) return;
  const body = $("#data-documents tbody");
  view.next = page.isDone ? null : page.continueCursor;
  body.replaceChildren(
    ...page.page.map((doc) =>
      el(
        "tr",
        { class: `line ${doc._id === view.docId ? "active" : ""}`, "data-id": doc._id, onclick: () => (location.hash = `#data?${new URLSearchParams({ ...listParams(), id: doc._id })}`) },
        el("td", { class: "mono" }, doc._id),
        el("td", {}, summary(view.table.name, doc)),
        el("td", {}, time(doc._creationTime)),
      ),
    ),
  );
  if (!page.page.length) body.replaceChildren(el("tr", {}, el("td", { colspan: 3, class: "muted" }, "No documents.")));
  $("#data-older").disabled = !view.next;
  $("#data-newer").disabled = view.cursors.length < 2;
  $("#data-page-number").textContent = `page ${view.cursors.length}`;
}

// ------------------------------------------------------------------ a document

function renderDocument(answer) {
  const doc = answer.document;
  const table = view.tables.find((t) => t.name === answer.table);
  const links = ID_FIELDS.filter((f) => typeof doc[f] === "string").map((f) => el("li", {}, `${f}: `, link({ table: "entities", id: doc[f] }, doc[f])));
  let card = $("#data-doc-card");
  if (!card || card.dataset.id !== doc._id) {
    view.dirty = false;
    card = el(
      "div",
      { class: "card", id: "data-doc-card", "data-id": doc._id },
      el("h2", { id: "data-doc-title" }),
      el("p", { class: "muted" }, `${answer.table} · `, el("code", {}, doc._id), ` · created ${time(doc._creationTime)}`),
      el("div", { class: "split2" }, el("pre", { id: "data-json" }), el("div", {}, el("ul", { id: "data-links" }), el("div", { id: "data-actions" }))),
      el("div", { id: "data-related", class: "related" }),
    );
    $("#data-document").replaceChildren(card);
    renderActions(table, doc);
  } else if (!view.dirty && doc._id === view.docId) {
    fillEditForm(doc);
  }
  $("#data-doc-title").textContent = doc.name || doc.type || doc.key || doc._id;
  $("#data-json").textContent = JSON.stringify(doc, null, 2);
  $("#data-links").replaceChildren(...links);
  $("#data-related").replaceChildren(...(answer.related ? RELATED.map(([key, title]) => relatedList(key, title, answer.related[key])) : []));
}

function relatedList(key, title, related) {
  const { table, ...rest } = related.query;
  const items = related.page.map((doc) => el("li", {}, link({ table, ...rest, id: doc._id }, summary(table, doc))));
  return el(
    "div",
    { class: "card", "data-related": key },
    el("h3", {}, title, " ", link({ table, ...rest }, related.isDone ? "(in the table)" : "(all of them)")),
    items.length ? el("ul", {}, ...items) : el("p", { class: "muted" }, "None."),
  );
}

function renderActions(table, doc) {
  const actions = $("#data-actions");
  const writes = table.writes || {};
  const parts = [];
  if (writes.update) parts.push(editForm(table, doc));
  if (writes.delete) {
    const label = table.name === "entities" ? "Archive" : "Delete";
    parts.push(el("p", {}, el("button", { type: "button", class: "danger", onclick: () => change("delete", { id: doc._id }, $("#data-action-result")) }, label), el("small", { class: "muted" }, ` runs ${writes.delete}`)));
  }
  if (!writes.update && !writes.delete) parts.push(el("p", { class: "muted" }, `Read-only: ${table.readOnly || "no function changes it here"}.`));
  else if (!writes.update) parts.push(el("p", { class: "muted" }, `No function edits a ${SINGULAR[table.name] || table.name}: delete it and make another.`));
  parts.push(el("div", { id: "data-action-result" }));
  actions.replaceChildren(...parts);
}

function field(name, input, hint) {
  return el("div", { class: "field", "data-field": name }, el("label", { for: input.id }, name), input, hint ? el("small", {}, hint) : null, el("small", { class: "error field-error", "data-error-for": name, role: "alert" }));
}

function editForm(table, doc) {
  const statuses = table.statuses || [];
  const form = el(
    "form",
    { id: "data-edit", onsubmit: (event) => saveEdit(event, doc._id), oninput: () => (view.dirty = true) },
    field("name", el("input", { id: "data-edit-name", name: "name", size: 40 })),
    field("status", el("select", { id: "data-edit-status", name: "status" }, el("option", { value: "" }, "(none)"), ...statuses.map((s) => el("option", { value: s }, s)))),
    field("properties", el("textarea", { id: "data-edit-properties", name: "properties", rows: 6 }), "JSON: replaces the properties, validated for the type"),
    el("button", { type: "submit" }, "Save"),
    el("small", { class: "muted" }, ` runs ${table.writes.update}`),
  );
  fillEditForm(doc, form);
  return form;
}

function fillEditForm(doc, form = $("#data-edit")) {
  if (!form) return;
  form.elements.name.value = doc.name ?? "";
  form.elements.status.value = doc.status ?? "";
  form.elements.properties.value = JSON.stringify(doc.properties ?? {}, null, 2);
}

async function saveEdit(event, id) {
  event.preventDefault();
  const form = event.target;
  for (const node of form.querySelectorAll(".field-error")) node.textContent = "";
  const fields = { name: form.elements.name.value };
  if (form.elements.status.value) fields.status = form.elements.status.value;
  try {
    fields.properties = JSON.parse(form.elements.properties.value || "{}");
  } catch {
    form.querySelector('[data-error-for="properties"]').textContent = "not JSON";
    return;
  }
  await change("update", { id, fields }, $("#data-action-result"), form);
}

// Runs the table's function through the dashboard; a refusal shows next to its field when the form
// has one, else under the form.
async function change(action, params, out, form = null) {
  out.replaceChildren(el("p", { class: "muted" }, "Saving…"));
  let run;
  try {
    run = await api("POST", `document/${action}`, params);
  } catch (error) {
    out.replaceChildren(el("p", { class: "error", id: "data-change-error" }, problem(error)));
    return false;
  }
  const result = run.result;
  if (result.status !== "success") {
    const fieldName = (result.errorData?.field || "").split(".")[0];
    const slot = form?.querySelector(`[data-error-for="${fieldName}"]`);
    if (slot) slot.textContent = problem(result);
    out.replaceChildren(el("p", { class: "error", id: "data-change-error" }, problem(result), " · ", el("a", { href: `#logs?requestId=${encodeURIComponent(run.requestId)}` }, "its log lines")));
    return false;
  }
  out.replaceChildren(el("p", { class: "ok", id: "data-change-ok" }, `${run.path}: done in ${run.durationMs} ms as ${run.as.role}`));
  if (form) view.dirty = false;
  if (action === "create" && result.value?.id) location.hash = `#data?${new URLSearchParams({ table: params.table, id: result.value.id })}`;
  else if (action === "delete" && view.table.name !== "entities") location.hash = `#data?${new URLSearchParams(listParams())}`;
  return true;
}

// ------------------------------------------------------------------ a new document

function renderCreate() {
  const path = view.table.writes?.create;
  const box = $("#data-create");
  if (!path) return box.replaceChildren();
  if (box.dataset.table === view.table.name) return;
  box.dataset.table = view.table.name;
  const fields = el("textarea", { id: "data-create-fields", name: "fields", rows: 5 });
  fields.value = JSON.stringify(TEMPLATES[view.table.name] || {}, null, 2);
  const out = el("div", { id: "data-create-result" });
  box.replaceChildren(
    el(
      "details",
      {},
      el("summary", {}, `New ${SINGULAR[view.table.name] || view.table.name} (runs ${path})`),
      el(
        "form",
        {
          onsubmit: async (event) => {
            event.preventDefault();
            let parsed;
            try {
              parsed = JSON.parse(fields.value);
            } catch {
              out.replaceChildren(el("p", { class: "error" }, "The fields are not JSON"));
              return;
            }
            await change("create", { table: view.table.name, fields: parsed }, out);
          },
        },
        field("fields", fields, "JSON: the function's arguments"),
        el("button", { type: "submit" }, "Create"),
      ),
      out,
    ),
  );
}

pages.data = { open };
