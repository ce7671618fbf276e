// The Live page: the organization's open connections and their subscriptions, and the sync path's
// health. refresh() reads both; the page calls it every 2 seconds while it is open and visible.
const { $, api, el, show, pages } = window.dashboard;

let timer = null;

const ago = (ms) => {
  if (!ms) return "never";
  const seconds = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return `${new Date(ms).toLocaleTimeString()} (${seconds} s ago)`;
};

const card = (label, value, id) => el("div", { class: "card stat", id }, el("small", {}, label), el("strong", {}, String(value ?? "–")));

function renderHealth(health) {
  const w = health.worker;
  const cards = [
    card(`Invalidations (${health.since})`, w.invalidations, "stat-invalidations"),
    card("Queries invalidated", w.invalidated, "stat-invalidated"),
    card("Re-runs", w.reruns, "stat-reruns"),
    card("Results pushed", w.pushed, "stat-pushed"),
    card("Sync queue: waiting / in flight", `${health.queue.waiting ?? "–"} / ${health.queue.inFlight ?? "–"}`, "stat-queue"),
  ];
  if (health.invalidator) {
    cards.push(card("Stream batches (platform)", `${health.invalidator.batches} · ${health.invalidator.changes} changes`, "stat-batches"));
  }
  $("#sync-health").replaceChildren(...cards);
}

function renderConnections(connections) {
  const rows = [];
  for (const c of connections) {
    const who = `${c.role || "anonymous"} ${c.userId || ""}`;
    const head = el("td", { class: "mono", rowspan: Math.max(1, c.subscriptions.length) }, c.id, el("br"), el("small", { class: "muted" }, `${who} · since ${new Date(c.connectedAt).toLocaleTimeString()}`));
    if (!c.subscriptions.length) rows.push(el("tr", { "data-connection": c.id }, head, el("td", { colspan: 5, class: "muted" }, "no subscription")));
    c.subscriptions.forEach((s, i) =>
      rows.push(
        el(
          "tr",
          { "data-connection": c.id, "data-path": s.path },
          i === 0 ? head : null,
          el("td", {}, String(s.queryId)),
          el("td", { class: "mono" }, s.path),
          el("td", { class: "mono args" }, JSON.stringify(s.args)),
          el("td", {}, ago(s.lastPushed)),
          el("td", {}, s.pending ? el("span", { class: "badge" }, "re-run pending") : ""),
        ),
      ),
    );
  }
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: 6, class: "muted" }, "No open connection.")));
  $("#live-table tbody").replaceChildren(...rows);
}

async function refresh() {
  try {
    const [live, health] = await Promise.all([api("GET", "live"), api("GET", "sync-health")]);
    renderConnections(live.connections);
    renderHealth(health);
    $("#live-state").textContent = "· live";
  } catch (error) {
    $("#live-state").textContent = `· ${error.message}`;
  }
}

pages.live = {
  open() {
    show("page-live");
    clearInterval(timer);
    refresh();
    timer = setInterval(() => {
      if (location.hash.slice(1).split("?")[0] !== "live") return clearInterval(timer);
      if (document.visibilityState === "visible") refresh();
    }, 2000);
  },
};
