// The Health and cost page: per function, over a window, its calls, error rate, p50/p99 duration,
// DynamoDB units per call and the price per million calls, from the calls' own summary lines.
// refresh() reads them; the page calls it every 2 seconds while it is open and visible.
const { $, api, el, show, pages } = window.dashboard;

let timer = null;

const usd = (value) => `$${value.toFixed(2)}`;
const percent = (rate) => `${(rate * 100).toFixed(rate && rate < 0.01 ? 2 : 0)}%`;

function row(f) {
  const price = f.usdPerMillion;
  return el(
    "tr",
    { "data-function": f.function, class: f.errors ? "has-errors" : "" },
    el("td", { class: "mono" }, f.function, el("span", { class: "kind" }, `${f.kind || ""} ${f.memoryMb} MB`)),
    el("td", {}, String(f.calls)),
    el("td", { class: f.errors ? "error" : "" }, `${f.errors} (${percent(f.errorRate)})`),
    el("td", {}, String(f.p50Ms)),
    el("td", {}, String(f.p99Ms)),
    el("td", {}, String(f.rcu)),
    el("td", {}, String(f.wcu)),
    el("td", {}, usd(price.lambda)),
    el("td", {}, usd(price.dynamodb)),
    el("td", {}, el("strong", {}, usd(price.total))),
  );
}

async function refresh() {
  const since = $("#health-filters").elements.since.value;
  try {
    const health = await api("GET", "health", { since });
    const rows = health.functions.map(row);
    if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: 10, class: "muted" }, `No call in the last ${since}.`)));
    $("#health-table tbody").replaceChildren(...rows);
    $("#health-state").textContent = `${health.lines} calls${health.complete ? "" : " (the window's first)"} · live`;
  } catch (error) {
    $("#health-state").textContent = error.message;
  }
}

$("#health-filters").addEventListener("change", () => refresh());

pages.health = {
  open() {
    show("page-health");
    clearInterval(timer);
    refresh();
    timer = setInterval(() => {
      if (location.hash.slice(1).split("?")[0] !== "health") return clearInterval(timer);
      if (document.visibilityState === "visible") refresh();
    }, 2000);
  },
};
