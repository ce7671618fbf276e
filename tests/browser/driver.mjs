// Drives Debian's Chromium (never a downloaded browser) through playwright-core for
// tests/browser: one page, commands as JSON lines on stdin, one JSON answer line per command on
// stdout ({"ok": true, "value": …} or {"ok": false, "error": …, "page": …, "console": […]}).
//
//   {"op": "goto", "url": …}                                  open a URL (waits for the load)
//   {"op": "fill", "label"|"placeholder"|"selector": …, "value": …}
//   {"op": "click", "role": "button", "name": …} | {"op": "click", "selector": …}
//   {"op": "waitFor", "text": …}                              until the text shows anywhere
//   {"op": "waitFor", "selector": …, "text": …, "exact": bool} until an element shows that text
//   {"op": "text", "selector": …}                             an element's text now
//   {"op": "url"}                                             the page's URL now
//   {"op": "console"}                                         what the page logged, its errors
//   {"op": "screenshot", "path": …}                           the whole page, as PNG
//   {"op": "close"}
//
// Usage: node driver.mjs '{"userDataDir": …, "timeoutMs": 90000}'
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const cfg = JSON.parse(process.argv[2] ?? "{}");
const timeout = cfg.timeoutMs ?? 90_000;
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const reply = (answer) => process.stdout.write(JSON.stringify(answer) + "\n");
for (const level of ["log", "info", "debug", "warn"]) console[level] = (...a) => console.error(...a);

const logs = [];
const context = await chromium.launchPersistentContext(cfg.userDataDir, {
  executablePath: cfg.executablePath ?? "/usr/bin/chromium",
  headless: true,
  args: FLAGS,
  viewport: { width: 1100, height: 900 },
});
context.setDefaultTimeout(timeout);
const page = context.pages()[0] ?? (await context.newPage());
page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
page.on("requestfailed", (r) => logs.push(`requestfailed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`));

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function target(cmd) {
  if (cmd.label) return page.getByLabel(cmd.label, { exact: true });
  if (cmd.placeholder) return page.getByPlaceholder(cmd.placeholder, { exact: true });
  if (cmd.role) return page.getByRole(cmd.role, { name: cmd.name, exact: true });
  return page.locator(cmd.selector);
}

const ops = {
  goto: async (c) => void (await page.goto(c.url, { waitUntil: "load" })),
  fill: async (c) => void (await target(c).fill(String(c.value))),
  click: async (c) => void (await target(c).click()),
  waitFor: async (c) => {
    const wanted = c.exact ? new RegExp(`^\\s*${escape(c.text)}\\s*$`) : c.text;
    const found = c.selector
      ? page.locator(c.selector).filter({ hasText: wanted }).first()
      : page.getByText(wanted).first();
    await found.waitFor({ state: "visible", timeout: c.timeoutMs ?? timeout });
    return (await found.textContent())?.trim();
  },
  text: async (c) => (await target(c).first().textContent())?.trim(),
  url: async () => page.url(),
  console: async () => logs,
  screenshot: async (c) => void (await page.screenshot({ path: c.path, fullPage: true })),
};

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const cmd = JSON.parse(line);
  if (cmd.op === "close") break;
  try {
    const value = await ops[cmd.op](cmd);
    reply({ ok: true, value: value ?? null });
  } catch (e) {
    let text = null;
    try {
      text = (await page.locator("body").innerText({ timeout: 2000 })).slice(0, 4000);
    } catch {}
    reply({ ok: false, error: String(e?.message ?? e).slice(0, 2000), page: text, console: logs.slice(-40) });
  }
}
lines.close();
// Chromium gets a few seconds to close; then the driver ends whatever is left (stdin held open would
// keep node alive).
await Promise.race([context.close(), new Promise((resolve) => setTimeout(resolve, 5000))]);
process.exit(0);
