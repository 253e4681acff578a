#!/usr/bin/env node
// Browser end-to-end tests of the web app: headless Chromium (Debian's, at
// /usr/bin/chromium) types into the terminal and reads the screen back.
//
//   node web/tests/e2e.mjs --url 'http://127.0.0.1:PORT/?config=test-config.json' \
//        --artifacts DIR [--chromium /usr/bin/chromium] [--timeout SECONDS] [--boot-only]
//
// --boot-only: just the cold boot and one command, on a page that must end
// up cross-origin isolated (for a host that sends no isolation headers,
// where the app's service worker has to provide them).
//
// The config the URL names must start a shell whose home is writable;
// `cargo xtask test-browser` serves one (a root shell in /root on the test
// root filesystem). Each step prints PASS or FAIL; the exit status is
// non-zero when any failed. DIR receives terminal.png, the screen text and
// the page's console, plus a screenshot for each failed step.
//
// The browser profile is a fresh directory per run, opened as a persistent
// context: the overlay (OPFS) must survive a reload within the run, and
// must not leak into the next run.

import { chromium } from "playwright-core";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

function parseArgs(argv) {
  const opts = { url: null, artifacts: "e2e-artifacts", chromium: process.env.CHROMIUM || "/usr/bin/chromium", timeout: 600, bootOnly: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--url") opts.url = value();
    else if (a === "--artifacts") opts.artifacts = value();
    else if (a === "--chromium") opts.chromium = value();
    else if (a === "--timeout") opts.timeout = Number(value());
    else if (a === "--boot-only") opts.bootOnly = true;
    else usage(`unknown argument ${a}`);
  }
  if (!opts.url) usage("--url is required");
  if (!(opts.timeout > 0)) usage("--timeout needs a number of seconds");
  return opts;
}

function usage(msg) {
  console.error(`e2e: ${msg}\nusage: node web/tests/e2e.mjs --url URL [--artifacts DIR] [--chromium PATH] [--timeout SECONDS] [--boot-only]`);
  process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));
const artifacts = resolve(opts.artifacts);
mkdirSync(artifacts, { recursive: true });
const consoleLog = join(artifacts, "console.log");
writeFileSync(consoleLog, "");

// How long one typed command may take (a cold python3 start fetches its
// files first).
const COMMAND_MS = 90_000;
// From navigation to the shell's prompt.
const BOOT_MS = 240_000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Poll `probe` until it returns something other than null/undefined/false. */
async function until(what, ms, probe, every = 100) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    last = await probe();
    if (last !== null && last !== undefined && last !== false) return last;
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await sleep(every);
  }
}

function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------- browser

const profile = mkdtempSync(join(tmpdir(), "oxvm-e2e-profile-"));
let context;
const overall = setTimeout(() => {
  console.log(`FAIL  overall timeout: the tests took more than ${opts.timeout} s`);
  finish(1);
}, opts.timeout * 1000);

async function finish(code) {
  clearTimeout(overall);
  try {
    await withTimeout(context?.close() ?? Promise.resolve(), 15_000, "closing the browser");
  } catch {
    // Chromium is killed with its process group when node exits.
  }
  rmSync(profile, { recursive: true, force: true });
  process.exit(code);
}

context = await chromium.launchPersistentContext(profile, {
  executablePath: opts.chromium,
  headless: true,
  viewport: { width: 1280, height: 800 },
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--headless",
  ],
});
const page = context.pages()[0] ?? (await context.newPage());

const pageErrors = [];
page.on("console", (m) => appendFileSync(consoleLog, `[${m.type()}] ${m.text()}\n`));
page.on("pageerror", (e) => {
  pageErrors.push(String(e));
  appendFileSync(consoleLog, `[pageerror] ${e}\n`);
});
// Workers' messages too: the engine logs from its worker.
page.on("worker", (w) => appendFileSync(consoleLog, `[worker] ${w.url()}\n`));

// The disk bytes fetched, counted from the responses for URLs under
// images/ (from the page, its workers and its service worker). The app's
// own count is read too when it exposes one (appDisk below).
const net = { requests: 0, bytes: 0 };
context.on("requestfinished", async (req) => {
  if (!/\/images\//.test(req.url())) return;
  net.requests++;
  try {
    const s = await req.sizes();
    // -1 for a response from the browser's cache: nothing fetched.
    net.bytes += Math.max(0, s.responseBodySize);
  } catch {
    // The request's page went away (a reload): its size is lost.
  }
});

let expectDialog = false;
page.on("dialog", async (d) => {
  appendFileSync(consoleLog, `[dialog ${d.type()}] ${d.message()}\n`);
  if (expectDialog) {
    expectDialog = false;
    await d.accept();
  } else {
    await d.dismiss();
  }
});

// ---------------------------------------------------------------- screen

/** The terminal's text, one line per row (wrapped rows joined), from
 *  xterm's buffer, else from the accessibility tree (screenReaderMode). */
function screen() {
  return page.evaluate(() => {
    const t = window.oxvm && window.oxvm.term;
    const b = t && t.buffer && t.buffer.active;
    if (b) {
      const lines = [];
      for (let i = 0; i < b.length; i++) {
        const l = b.getLine(i);
        if (!l) continue;
        const next = b.getLine(i + 1);
        // Keep trailing blanks of a row that continues on the next one.
        const s = l.translateToString(!(next && next.isWrapped));
        if (l.isWrapped && lines.length) lines[lines.length - 1] += s;
        else lines.push(s);
      }
      return lines.join("\n");
    }
    const a = document.querySelector(".xterm-accessibility");
    if (a) return a.innerText;
    const term = document.querySelector("#terminal");
    return term ? term.innerText : "";
  });
}

function appState() {
  return page.evaluate(() => ({
    state: document.body && document.body.dataset.state,
    text: document.body ? document.body.innerText.slice(0, 2000) : "",
  }));
}

const PROMPT = /[$#]\s*$/;

function lastLine(text) {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  return lines.length ? lines[lines.length - 1] : "";
}

/** Wait for a shell prompt as the last line of the screen, after `from`
 *  characters of screen text (so an old prompt does not count). */
async function waitPrompt(ms, from = 0) {
  return until("a shell prompt ($ or #)", ms, async () => {
    let st, text;
    try {
      st = await appState();
      text = await screen();
    } catch {
      return null; // the page is (re)loading: no context to evaluate in yet
    }
    if (st.state === "error") throw new Error(`the page says it failed (body.dataset.state = error): ${st.text}`);
    const last = lastLine(text);
    return PROMPT.test(last) && text.lastIndexOf(last) >= from ? text : null;
  }, 200);
}

async function focusTerminal() {
  const ok = await page.evaluate(() => {
    const t = window.oxvm && window.oxvm.term;
    if (t && t.focus) {
      t.focus();
      return true;
    }
    return false;
  });
  if (!ok) await page.click("#terminal");
}

let seq = 0;

/** Type `cmd` into the shell and wait for it to finish. The command line
 *  ends with `; echo TAG:$?:`, so the marker in the output (with a number
 *  where the echoed command line has `$?`) says the command is done, with
 *  its exit status; the output is what lies between the echoed command line
 *  and the marker. */
async function run(cmd, ms = COMMAND_MS) {
  const tag = `E2E${++seq}X`;
  await focusTerminal();
  await page.keyboard.type(`${cmd}; echo ${tag}:$?:`);
  await page.keyboard.press("Enter");
  const re = new RegExp(`${tag}:(\\d+):`);
  const text = await until(`the end of \`${cmd}\``, ms, async () => {
    const t = await screen();
    return re.test(t) ? t : null;
  });
  const m = re.exec(text);
  const echoed = text.lastIndexOf(`echo ${tag}:$?:`, m.index);
  const start = echoed >= 0 ? text.indexOf("\n", echoed) + 1 : 0;
  const output = text.slice(start, m.index).replace(/\s+$/, "");
  // The next prompt, so the next command is typed at a prompt.
  await waitPrompt(ms, m.index + m[0].length);
  return { status: Number(m[1]), output };
}

function expect(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function termSize() {
  return page.evaluate(() => ({ rows: window.oxvm.term.rows, cols: window.oxvm.term.cols }));
}

/** The app's own count of the disk's fetches, where it exposes one. */
function appDisk() {
  return page.evaluate(() => {
    const o = window.oxvm || {};
    const l = o.linux || {};
    const cands = [l.status, l.lastStatus, l.stats, o.status];
    for (const c of cands) {
      const d = c && (c.disk || c);
      if (d && typeof d.bytesFetched === "number") return { bytes: d.bytesFetched, requests: d.requests, roundTrips: d.roundTrips };
    }
    return null;
  });
}

function mib(n) {
  return `${(n / 1048576).toFixed(2)} MiB`;
}

// ---------------------------------------------------------------- steps

const results = [];
const metrics = {};

async function step(name, ms, fn) {
  const t0 = Date.now();
  try {
    await withTimeout(fn(), ms, name);
    results.push({ name, ok: true });
    console.log(`PASS  ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    return true;
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAIL  ${name}: ${e && e.message ? e.message : e}`);
    const slug = name.replace(/[^a-z0-9]+/gi, "-").toLowerCase();
    try {
      await page.screenshot({ path: join(artifacts, `failed-${slug}.png`), timeout: 10_000 });
      writeFileSync(join(artifacts, `failed-${slug}.txt`), await withTimeout(screen(), 10_000, "reading the screen"));
    } catch {
      // The page may be gone; the message above is what matters.
    }
    return false;
  }
}

/** Navigate (or reload) and wait for the prompt; the time and the bytes
 *  fetched under images/ to get there. */
async function boot(navigate) {
  const bytes0 = net.bytes;
  const requests0 = net.requests;
  const t0 = Date.now();
  await navigate();
  await waitPrompt(BOOT_MS);
  const ms = Date.now() - t0;
  await sleep(300); // the last responses' sizes are read asynchronously
  return { ms, bytes: net.bytes - bytes0, requests: net.requests - requests0, app: await appDisk().catch(() => null) };
}

function report(label, b) {
  const app = b.app ? `; the app counts ${mib(b.app.bytes)} in ${b.app.requests} requests, ${b.app.roundTrips} round trips` : "";
  console.log(`      ${label}: prompt after ${(b.ms / 1000).toFixed(2)} s; ${mib(b.bytes)} downloaded under images/ (as sent: gzip where the server compressed) in ${b.requests} requests${app}`);
}

const booted = await step("cold boot: the prompt appears", BOOT_MS + 30_000, async () => {
  metrics.cold = await boot(() => page.goto(opts.url, { waitUntil: "domcontentloaded", timeout: 60_000 }));
  report("cold start", metrics.cold);
});

if (booted && opts.bootOnly) {
  await step("the page is cross-origin isolated and the shell answers", COMMAND_MS + 10_000, async () => {
    const isolated = await page.evaluate(() => crossOriginIsolated);
    expect(isolated, "the page is not cross-origin isolated");
    const r = await run("echo MARK$((6*7))");
    expect(/^MARK42$/m.test(r.output) && r.status === 0, `got ${JSON.stringify(r.output)} (status ${r.status})`);
  });
} else if (booted) {
  await step("arithmetic: echo MARK$((6*7)) prints MARK42", COMMAND_MS + 10_000, async () => {
    const r = await run("echo MARK$((6*7))");
    expect(/^MARK42$/m.test(r.output) && r.status === 0, `got ${JSON.stringify(r.output)} (status ${r.status})`);
  });

  await step("python3: sum(range(10)) is 45", 2 * COMMAND_MS, async () => {
    const r = await run("echo PY=$(python3 -c 'print(sum(range(10)))')", 2 * COMMAND_MS);
    expect(/^PY=45$/m.test(r.output) && r.status === 0, `got ${JSON.stringify(r.output)} (status ${r.status})`);
  });

  await step("ls / shows etc and usr", COMMAND_MS + 10_000, async () => {
    const r = await run("ls /");
    const names = r.output.split(/\s+/);
    expect(names.includes("etc") && names.includes("usr") && r.status === 0, `got ${JSON.stringify(r.output)} (status ${r.status})`);
  });

  await step("a pipe: printf | sort | tr prints ab", COMMAND_MS + 10_000, async () => {
    const r = await run("printf 'b\\na\\n' | sort | tr -d '\\n'; echo =PIPE");
    expect(/^ab=PIPE$/m.test(r.output) && r.status === 0, `got ${JSON.stringify(r.output)} (status ${r.status})`);
  });

  await step("terminal resize: stty size follows the viewport", COMMAND_MS + 30_000, async () => {
    const before = await termSize();
    await page.setViewportSize({ width: 760, height: 460 });
    // The app fits the terminal to its element on a resize.
    const after = await until("the terminal to take the new viewport's size", 10_000, async () => {
      const s = await termSize();
      return s.rows !== before.rows || s.cols !== before.cols ? s : null;
    });
    await sleep(300); // settle: the fit may run more than once
    let got;
    try {
      // The engine hears of the new size by a message: allow it a moment.
      for (let i = 0; i < 10; i++) {
        const now = await termSize();
        const r = await run("echo SIZE=$(stty size)");
        got = (/^SIZE=(.*)$/m.exec(r.output) || [])[1];
        if (got === `${now.rows} ${now.cols}`) {
          console.log(`      ${before.rows}x${before.cols} -> ${now.rows}x${now.cols}; stty size: ${got}`);
          return;
        }
        await sleep(500);
      }
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
    throw new Error(`xterm is ${after.rows}x${after.cols} (rows x cols) but stty size says ${JSON.stringify(got)}`);
  });

  await step("drop a file: ~/drop.txt reads back", 2 * COMMAND_MS, async () => {
    const home = (/^HOME=(.*)$/m.exec((await run("echo HOME=$HOME")).output) || [])[1];
    expect(home, "the shell has no $HOME");
    const text = `dropped-${Date.now()}`;
    await page.evaluate(
      ({ home, text }) => {
        // Where the app lets the user choose the drop directory, choose $HOME.
        const dir = document.querySelector("#drop-dir");
        if (dir && "value" in dir) {
          dir.value = home;
          dir.dispatchEvent(new Event("input", { bubbles: true }));
          dir.dispatchEvent(new Event("change", { bubbles: true }));
        }
        const dt = new DataTransfer();
        dt.items.add(new File([`${text}\n`], "drop.txt", { type: "text/plain" }));
        const target = document.querySelector("#terminal") || document.body;
        for (const type of ["dragenter", "dragover", "drop"]) {
          target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
        }
      },
      { home, text },
    );
    // The file is written by a message to the engine: poll for it.
    let r;
    for (let i = 0; i < 20; i++) {
      r = await run("cat ~/drop.txt");
      if (r.output.includes(text)) return;
      await sleep(500);
    }
    const elsewhere = await run("ls -l /home/user/drop.txt /tmp/drop.txt 2>&1");
    throw new Error(`cat ~/drop.txt (HOME=${home}) gives ${JSON.stringify(r.output)}; elsewhere: ${JSON.stringify(elsewhere.output)}`);
  });

  await step("screenshot of the terminal (before the reload: all the commands so far)", 30_000, async () => {
    await page.locator("#terminal").screenshot({ path: join(artifacts, "terminal.png") });
    writeFileSync(join(artifacts, "screen.txt"), await screen());
  });

  const reloaded = await step("persistence: a file written survives a reload", BOOT_MS + 3 * COMMAND_MS, async () => {
    const w = await run("echo persist-OK > ~/persist.txt; sync");
    expect(w.status === 0, `writing ~/persist.txt failed (status ${w.status}): ${w.output}`);
    metrics.warm = await boot(() => page.reload({ waitUntil: "domcontentloaded", timeout: 60_000 }));
    report("warm start (reload)", metrics.warm);
    const r = await run("cat ~/persist.txt");
    expect(/^persist-OK$/m.test(r.output) && r.status === 0, `after the reload, cat gives ${JSON.stringify(r.output)} (status ${r.status})`);
  });

  if (reloaded) {
    await step("reset disk: the confirm dialog, a reload, the file is gone", BOOT_MS + 2 * COMMAND_MS, async () => {
      expectDialog = true;
      const loaded = page.waitForEvent("load", { timeout: 60_000 });
      await page.click("#reset-disk");
      await loaded;
      expect(!expectDialog, "no confirm dialog was shown");
      metrics.reset = await boot(async () => {});
      report("start after the reset", metrics.reset);
      const r = await run("cat ~/persist.txt");
      expect(/No such file/.test(r.output) && r.status !== 0, `after the reset, cat gives ${JSON.stringify(r.output)} (status ${r.status})`);
    });

    await step("recovery: the guest deletes its shell; the app offers a reset that brings it back", BOOT_MS + 4 * COMMAND_MS, async () => {
      // The shell cannot restart once bash is gone: the app must notice
      // (it stops restarting and shows the banner) instead of looping.
      // As root, or through sudo for the default image's user.
      const gone = await run("$([ $(id -u) = 0 ] || echo sudo -n) rm -f /usr/bin/bash /bin/bash; sync; ls /usr/bin/bash /bin/bash 2>&1 | head -1");
      expect(/No such file/.test(gone.output), `bash still exists: ${JSON.stringify(gone.output)}`);
      await page.keyboard.type("exit");
      await page.keyboard.press("Enter");
      await page.waitForSelector("#banner:not([hidden])", { timeout: 60_000 });
      expectDialog = true;
      const loaded = page.waitForEvent("load", { timeout: 60_000 });
      await page.click("#banner-reset");
      await loaded;
      expect(!expectDialog, "no confirm dialog was shown");
      await boot(async () => {});
      const r = await run("echo BACK$((1+1))");
      expect(/^BACK2$/m.test(r.output) && r.status === 0, `after the reset, the shell gives ${JSON.stringify(r.output)}`);
    });
  }

  await step("IndexedDB fallback (?storage=indexeddb): a file written survives a reload", 2 * BOOT_MS + 3 * COMMAND_MS, async () => {
    const url = new URL(opts.url);
    url.searchParams.set("storage", "indexeddb");
    await boot(() => page.goto(url.href, { waitUntil: "domcontentloaded", timeout: 60_000 }));
    const storage = await page.evaluate(() => window.oxvm?.linux?.lastStatus?.storage ?? null);
    expect(storage === "indexeddb", `the engine stores its disk in ${storage}, not IndexedDB`);
    const w = await run("echo idb-OK > ~/idb.txt; sync");
    expect(w.status === 0, `writing ~/idb.txt failed (status ${w.status}): ${w.output}`);
    await boot(() => page.reload({ waitUntil: "domcontentloaded", timeout: 60_000 }));
    const r = await run("cat ~/idb.txt");
    expect(/^idb-OK$/m.test(r.output) && r.status === 0, `after the reload, cat gives ${JSON.stringify(r.output)} (status ${r.status})`);
  });
}

const failed = results.filter((r) => !r.ok).length;
if (pageErrors.length) console.log(`      ${pageErrors.length} uncaught page errors (see ${consoleLog}); the first: ${pageErrors[0]}`);
if (metrics.cold) {
  console.log(`      cold start: ${(metrics.cold.ms / 1000).toFixed(2)} s, ${mib(metrics.cold.bytes)}` +
    (metrics.warm ? `; warm start: ${(metrics.warm.ms / 1000).toFixed(2)} s, ${mib(metrics.warm.bytes)}` : ""));
}
writeFileSync(join(artifacts, "metrics.json"), JSON.stringify(metrics, null, 2) + "\n");
console.log(`e2e: ${results.length - failed} passed, ${failed} failed`);
await finish(failed ? 1 : 0);
