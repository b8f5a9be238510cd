// Loads tether's status page in Debian's headless chromium and prints what the
// DOM shows, one JSON record a line ({"step": ..., "value": ...}):
//   first   the page once its first refresh has drawn the sessions
//   (then waits for a line on stdin: the test changes what tether sees)
//   second  the page after two more refreshes
//   done    console errors, page errors, dialogs, the page's response headers
// The screenshot of the second state goes to OUT_DIR/status-page.png.
// With TOKEN, the page must first ask for the admin token (its data answered
// 403): the script enters it in the page's form, as a person would.
// usage: node status_page.mjs URL OUT_DIR [TOKEN]   (driven by tests/integration/test_status_page.py)
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { chromium } from "playwright-core";

const [url, outDir, token] = process.argv.slice(2);
if (!url || !outDir) {
  console.error("usage: node status_page.mjs URL OUT_DIR");
  process.exit(2);
}

const print = (step, value) => process.stdout.write(JSON.stringify({ step, value }) + "\n");
const stdin = readline.createInterface({ input: process.stdin });
const stdinLines = stdin[Symbol.asyncIterator]();

// What a person sees: every table's rows with their classes and cell texts,
// the page text, and the scripts the document holds.
function snapshot() {
  const rows = (selector) => [...document.querySelectorAll(selector + " tbody tr")].map((tr) => ({
    className: tr.className,
    cells: Object.fromEntries([...tr.cells].map((td) => {
      const column = [...td.classList].find((c) => c.startsWith("col-"));
      return [column ? column.slice(4) : String(td.cellIndex), td.textContent];
    })),
  }));
  return {
    refreshes: Number(document.getElementById("main").dataset.refreshes),
    readiness: document.getElementById("readiness").textContent,
    upstream: document.getElementById("upstream").textContent,
    clients: rows("#clients"),
    sessions: rows("#sessions"),
    chart_lines: document.querySelectorAll("#chart svg polyline").length,
    legend: [...document.querySelectorAll("#legend li")].map((li) => li.textContent),
    text: document.body.innerText,
    scripts: [...document.querySelectorAll("script")].map((s) => s.src || "(inline) " + s.textContent.slice(0, 80)),
    token_form_visible: !document.getElementById("token-form").hidden,
  };
}

const consoleErrors = [];
const pageErrors = [];
const dialogs = [];
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tether-chromium-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  // Without these, chromium on a machine with no display, no GPU and no
  // internet stalls on first-run work or on reaching Google's services.
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  viewport: { width: 1400, height: 1000 },
});
try {
  const page = context.pages()[0] || await context.newPage();
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  page.on("dialog", async (dialog) => {
    dialogs.push(dialog.type() + ": " + dialog.message());
    await dialog.dismiss();
  });
  const response = await page.goto(url, { waitUntil: "load" });
  const headers = response.headers();
  let tokenFormShown = false;
  if (token) {
    await page.waitForSelector("#token-form:not([hidden])", { timeout: 20000 });
    tokenFormShown = true;
    await page.fill("#token-input", token);
    await page.click("#token-form button[type=submit]");
  }
  await page.waitForFunction(() => Number(document.getElementById("main").dataset.refreshes) >= 1 &&
                                   document.querySelectorAll("#sessions tbody tr").length > 0, null, { timeout: 20000 });
  const first = { ...await page.evaluate(snapshot), token_form_shown: tokenFormShown };
  print("first", first);

  await stdinLines.next();
  await page.waitForFunction((n) => Number(document.getElementById("main").dataset.refreshes) >= n,
                             first.refreshes + 2, { timeout: 30000 });
  print("second", await page.evaluate(snapshot));
  fs.mkdirSync(outDir, { recursive: true });
  await page.screenshot({ path: path.join(outDir, token ? "status-page-token.png" : "status-page.png"), fullPage: true });
  const stored = await page.evaluate(() => sessionStorage.getItem("tether-admin-token"));
  print("done", { console_errors: consoleErrors, page_errors: pageErrors, dialogs, status: response.status(), headers,
                  token_stored: stored === token });
} catch (error) {
  print("error", String(error && error.stack || error));
  process.exitCode = 1;
} finally {
  stdin.close();  // or node waits for stdin to end
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
