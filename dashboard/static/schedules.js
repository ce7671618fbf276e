// The Schedules page: the organization's scheduled functions (cancel one, or every pending one) and
// the platform's crons (next run, last runs and their outcome; a platform owner runs one now).
// The first page of scheduled functions is a subscription (the system query _system/dashboard:scheduled
// over the platform's sync protocol): the server pushes it again whenever a job changes. Older pages
// are read on demand; the crons are read every 5 s while the page is open and visible.

import { sync } from "./sync.js";

const { api, el, $, show, pages, state: app } = window.dashboard;

const view = { timer: null, older: [], cursor: null, busy: false, stop: null };
const time = (ms) => (ms ? new Date(ms).toLocaleString() : "");

function onPage() {
  return location.hash.slice(1).split("?")[0] === "schedules";
}

function jobRow(job) {
  const cancel =
    job.state === "pending"
      ? el("button", { type: "button", class: "small", onclick: () => cancelJob(job.id) }, "Cancel")
      : null;
  return el(
    "tr",
    { "data-job-id": job.id, class: `job ${job.state}` },
    el("td", { class: "mono" }, job.name),
    el("td", {}, el("span", { class: `badge ${job.state}` }, job.state), job.error ? el("small", { class: "error" }, ` ${job.error}`) : null),
    el("td", {}, time(job.scheduledTime)),
    el("td", {}, time(job.createdTime)),
    el("td", {}, time(job.completedTime)),
    el("td", { class: "mono" }, job.id),
    el("td", {}, cancel),
  );
}

function runCell(run) {
  const counts = Object.entries(run.jobs)
    .map(([state, n]) => `${n} ${state}`)
    .join(", ");
  return el(
    "li",
    { "data-window": run.window },
    el("span", { class: `badge ${run.outcome}` }, run.outcome),
    ` ${time(Date.parse(run.window))}`,
    counts ? el("small", { class: "muted" }, ` (${counts})`) : null,
  );
}

function cronRow(cron, mayRun) {
  const run = el(
    "button",
    {
      type: "button",
      class: "small",
      disabled: !mayRun,
      title: mayRun ? "Run it now, for its current window" : "A cron's run works for every organization: the platform's owners run it",
      onclick: () => runCron(cron.name),
    },
    "Run now",
  );
  return el(
    "tr",
    { "data-cron": cron.name },
    el("td", {}, el("strong", {}, cron.name), el("div", { class: "mono muted" }, cron.function)),
    el("td", { class: "mono" }, cron.schedule),
    el("td", {}, time(cron.nextRun)),
    el("td", {}, cron.runs.length ? el("ul", { class: "runs" }, ...cron.runs.map(runCell)) : el("span", { class: "muted" }, "no run recorded")),
    el("td", {}, run),
  );
}

function message(id, text, error = false) {
  const node = $(id);
  node.textContent = text;
  node.className = error ? "error" : "muted";
}

function renderJobs(jobs) {
  if (!view.older.length) view.cursor = jobs.isDone ? null : jobs.continueCursor;
  const shown = new Set(jobs.page.map((j) => j.id));
  const rows = [...jobs.page, ...view.older.filter((j) => !shown.has(j.id))];
  $("#scheduled-table tbody").replaceChildren(...rows.map(jobRow));
  if (!jobs.page.length) {
    $("#scheduled-table tbody").append(el("tr", {}, el("td", { colspan: 7, class: "muted" }, "No scheduled function.")));
  }
  $("#scheduled-more").hidden = view.cursor === null;
}

// (Re)subscribe to the first page, for the chosen organization and state.
function subscribe() {
  view.stop?.();
  const state = $("#scheduled-filters").elements.state.value;
  const args = { organization: app.organization };
  if (state) args.state = state;
  view.stop = sync.subscribe("_system/dashboard:scheduled", args, renderJobs, (error) =>
    message("#scheduled-message", `${error.data?.code || ""} ${error.message}`, true),
  );
}

async function refreshCrons() {
  const crons = await api("GET", "crons");
  $("#cron-note").textContent = crons.mayRun ? "" : "A cron's run works for every organization: the platform's owners run one now.";
  $("#cron-table tbody").replaceChildren(...crons.crons.map((c) => cronRow(c, crons.mayRun)));
}

function leave() {
  clearInterval(view.timer);
  view.stop?.();
  view.stop = null;
}

async function tick() {
  if (!onPage()) return leave();
  if (document.visibilityState !== "visible" || view.busy) return;
  try {
    await refreshCrons();
  } catch {
    $("#schedules-live").textContent = "reconnecting…";
  }
}

async function cancelJob(id) {
  view.busy = true;
  try {
    const { job } = await api("POST", "scheduled/cancel", { id });
    message("#scheduled-message", `${job.name} is ${job.state}`);
  } catch (error) {
    message("#scheduled-message", `${error.body?.errorData?.code || ""} ${error.message}`, true);
  } finally {
    view.busy = false;
  }
}

async function cancelAll() {
  view.busy = true;
  let canceled = 0;
  try {
    for (;;) {
      const answer = await api("POST", "scheduled/cancel", { all: true });
      canceled += answer.canceled;
      if (!answer.more) break;
    }
    message("#scheduled-message", `${canceled} pending canceled`);
  } catch (error) {
    message("#scheduled-message", `${error.body?.errorData?.code || ""} ${error.message}`, true);
  } finally {
    view.busy = false;
  }
}

async function runCron(name) {
  message("#cron-message", `Running ${name}…`);
  try {
    const run = await api("POST", "crons/run", { name });
    message("#cron-message", `${name}: ${run.status} at ${run.time}; its run shows below as it goes`);
  } catch (error) {
    message("#cron-message", `${error.body?.errorData?.code || ""} ${error.message}`, true);
  }
  await refreshCrons();
}

async function older() {
  if (!view.cursor) return;
  const state = $("#scheduled-filters").elements.state.value;
  const jobs = await api("GET", "scheduled", { state, cursor: view.cursor });
  view.older.push(...jobs.page);
  view.cursor = jobs.isDone ? null : jobs.continueCursor;
  $("#scheduled-table tbody").append(...jobs.page.map(jobRow));
  $("#scheduled-more").hidden = view.cursor === null;
}

$("#scheduled-filters").elements.state.addEventListener("change", () => {
  view.older = [];
  subscribe();
});
$("#cancel-all").addEventListener("click", cancelAll);
$("#scheduled-more").addEventListener("click", older);

pages.schedules = {
  open: async () => {
    show("page-schedules");
    leave();
    sync.watch((text) => {
      $("#schedules-live").textContent = text;
    });
    view.older = [];
    subscribe();
    try {
      await refreshCrons();
    } catch (error) {
      message("#cron-message", error.message, true);
    }
    view.timer = setInterval(tick, 5000);
  },
};
