// The Files page: the organization's stored files, with a preview of images and audio, a download
// link and a delete. The first page is a subscription (the system query _system/dashboard:files over
// the platform's sync protocol), pushed again as files are stored or deleted; older pages are read on
// demand (a list that has not changed is left as it is, so previews do not reload).

import { sync } from "./sync.js";

const { api, el, $, show, pages, state: app } = window.dashboard;

const view = { cursor: null, older: [], shown: "", urls: new Map(), first: null, stop: null };
// A download URL is valid 15 minutes: one is asked for again after 10.
const URL_MS = 10 * 60 * 1000;

function onPage() {
  return location.hash.slice(1).split("?")[0] === "files";
}

function size(bytes) {
  if (bytes === null || bytes === undefined) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

async function urlOf(storageId) {
  const kept = view.urls.get(storageId);
  if (kept && Date.now() - kept.at < URL_MS) return kept.url;
  const { url } = await api("GET", "files/url", { storageId });
  view.urls.set(storageId, { url, at: Date.now() });
  return url;
}

function preview(file, cell, link) {
  const kind = (file.contentType || "").split("/")[0];
  urlOf(file.storageId)
    .then((url) => {
      link.href = url;
      if (kind === "image") {
        const caption = el("small", { class: "muted" });
        const img = el("img", { src: url, alt: file.name || "", class: "preview" });
        img.addEventListener("load", () => {
          caption.textContent = `${img.naturalWidth} x ${img.naturalHeight} px`;
        });
        img.addEventListener("error", () => {
          caption.textContent = "no preview";
        });
        cell.replaceChildren(img, caption);
      } else if (kind === "audio") {
        cell.replaceChildren(el("audio", { src: url, controls: true, preload: "metadata" }));
      }
    })
    .catch((error) => cell.replaceChildren(el("small", { class: "error" }, error.message)));
}

function fileRow(file) {
  const cell = el("td", { class: "preview-cell" });
  const link = el("a", { class: "download", target: "_blank", rel: "noopener" }, "Download");
  const remove = el("button", { type: "button", class: "small danger" }, "Delete");
  remove.addEventListener("click", () => {
    if (remove.dataset.armed) return deleteFile(file);
    remove.dataset.armed = "1";
    remove.textContent = "Confirm delete";
  });
  preview(file, cell, link);
  const owner = file.owner ? file.owner.name || file.owner.id : "";
  return el(
    "tr",
    { "data-file-id": file.fileId, "data-storage-id": file.storageId },
    cell,
    el("td", {}, file.name || ""),
    el("td", { class: "mono" }, file.contentType || ""),
    el("td", {}, size(file.size)),
    el("td", {}, owner),
    el("td", {}, new Date(file.createdTime).toLocaleString()),
    el("td", {}, link, " ", remove),
  );
}

function render(files) {
  const key = files.map((f) => f.fileId).join(",");
  if (key === view.shown) return;
  view.shown = key;
  const body = $("#files-table tbody");
  body.replaceChildren(...files.map(fileRow));
  if (!files.length) body.append(el("tr", {}, el("td", { colspan: 7, class: "muted" }, "No stored file.")));
}

// The first page as last pushed, and the older pages read since.
function refresh() {
  const first = view.first;
  if (!first) return;
  if (!view.older.length) view.cursor = first.isDone ? null : first.continueCursor;
  const shown = new Set(first.page.map((f) => f.fileId));
  render([...first.page, ...view.older.filter((f) => !shown.has(f.fileId))]);
  $("#files-more").hidden = view.cursor === null;
}

function failed(error) {
  $("#files-message").textContent = `${error.data?.code || ""} ${error.message}`;
  $("#files-message").className = "error";
}

function leave() {
  window.removeEventListener("hashchange", view.onhash);
  view.stop?.();
  view.stop = null;
}

async function deleteFile(file) {
  try {
    await api("POST", "files/delete", { fileId: file.fileId });
    view.older = view.older.filter((f) => f.fileId !== file.fileId);
    $("#files-message").textContent = `${file.name} deleted`;
    $("#files-message").className = "muted";
  } catch (error) {
    $("#files-message").textContent = `${error.body?.errorData?.code || ""} ${error.message}`;
    $("#files-message").className = "error";
  }
  refresh();
}

$("#files-more").addEventListener("click", async () => {
  if (!view.cursor) return;
  const next = await api("GET", "files", { cursor: view.cursor });
  view.older.push(...next.page);
  view.cursor = next.isDone ? null : next.continueCursor;
  refresh();
});

pages.files = {
  open: () => {
    show("page-files");
    leave();
    view.older = [];
    view.shown = "";
    view.first = null;
    sync.watch((text) => {
      $("#files-live").textContent = text;
    });
    view.stop = sync.subscribe(
      "_system/dashboard:files",
      { organization: app.organization },
      (first) => {
        view.first = first;
        refresh();
      },
      failed,
    );
    view.onhash = () => {
      if (!onPage()) leave();
    };
    window.addEventListener("hashchange", view.onhash);
  },
};
