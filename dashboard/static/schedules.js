// The Schedules page: the organization's scheduled functions (cancel one, or every pending one) and
// the platform's crons (next run, last runs and their outcome; a platform owner runs one now).
// The first page of scheduled functions and the crons are subscriptions (the system queries
// _system/dashboard:scheduled and _system/dashboard:crons over the platform's sync protocol): the
// server pushes each again whenever a job changes or a cron records a run. Older pages of jobs are
// read on demand.

import { sync } from "./sync.js";

const { api, el, $, show, pages, state: app } = window.dashboard;

const view = { older: [], cursor: null, stop: null, stopCrons: null, onhash: null };
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

function renderCrons(crons) {
  $("#cron-note").textContent = crons.mayRun ? "" : "A cron's run works for every organization: the platform's owners run one now.";
  $("#cron-table tbody").replaceChildren(...crons.crons.map((c) => cronRow(c, crons.mayRun)));
}

function subscribeCrons() {
  view.stopCrons?.();
  view.stopCrons = sync.subscribe("_system/dashboard:crons", { organization: app.organization }, renderCrons, (error) =>
    message("#cron-message", `${error.data?.code || ""} ${error.message}`, true),
  );
}

// Leaving the page ends both subscriptions.
function leave() {
  window.removeEventListener("hashchange", view.onhash);
  view.stop?.();
  view.stopCrons?.();
  view.stop = view.stopCrons = null;
}

async function cancelJob(id) {
  try {
    const { job } = await api("POST", "scheduled/cancel", { id });
    message("#scheduled-message", `${job.name} is ${job.state}`);
  } catch (error) {
    message("#scheduled-message", `${error.body?.errorData?.code || ""} ${error.message}`, true);
  }
}

async function cancelAll() {
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
    subscribeCrons();
    view.onhash = () => {
      if (!onPage()) leave();
    };
    window.addEventListener("hashchange", view.onhash);
  },
};
