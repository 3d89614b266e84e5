// navigate, reload, go_back, go_forward; title, url, content.
import { CommandError, failedPrecondition, invalidArgument, withTimeout } from "../errors.js";
import { durationJson, requireString, timeoutMs } from "../params.js";
import { resolveTab, resolveTarget, runInFrame } from "../target.js";
import { WAIT_DOM_CONTENT_LOADED, WAIT_LOAD, WAIT_NONE, followNavigation } from "../tabs.js";
import { allowedSchemes, schemeAllowed } from "../network_policy.js";

const WAIT_UNTIL = new Map([
  ["WAIT_UNTIL_LOAD_UNSPECIFIED", WAIT_LOAD],
  ["WAIT_UNTIL_DOM_CONTENT_LOADED", WAIT_DOM_CONTENT_LOADED],
  ["WAIT_UNTIL_NONE", WAIT_NONE],
]);

// A history step that the page cannot vouch for (its entries are not all
// of its origin) counts as going nowhere when nothing starts this soon.
const HISTORY_START_GRACE_MS = 3000;

// An absolute URL of a scheme the server allows (--url_schemes; by
// default http, https and about:blank), normalised as Firefox will report it.
export function checkUrl(raw) {
  if (raw === "about:blank") return raw;
  let url;
  try {
    url = new URL(raw);
  } catch {
    throw invalidArgument(`not an absolute URL: ${raw}`);
  }
  if (!schemeAllowed(url)) {
    throw invalidArgument(`URL scheme ${url.protocol} is not allowed (${allowedSchemes()})`);
  }
  return url.href;
}

export function waitUntil(params) {
  const value = params.wait_until ?? "WAIT_UNTIL_LOAD_UNSPECIFIED";
  const mode = WAIT_UNTIL.get(value);
  if (!mode) throw invalidArgument(`unknown wait_until ${value}`);
  return mode;
}

// Runs in the top frame: its title and the HTTP status of its document
// (0 when it came from no HTTP response, such as about:blank).
function documentFacts() {
  const [entry] = performance.getEntriesByType("navigation");
  return { title: document.title, status: entry?.responseStatus ?? 0 };
}

// Runs in the top frame: only its title (no performance entry to read).
function documentTitle() {
  return { title: document.title };
}

// The title and HTTP status of the tab's document (`facts` says which
// are read). Firefox runs no extension script in a top-level about:blank
// (it has no title) nor in an error page (it has the title Firefox shows);
// both have status 0.
async function pageFacts(tabId, ms, facts = documentFacts) {
  try {
    return await runInFrame({ tabId }, facts, [], { timeoutMs: ms, what: "reading the page's title" });
  } catch (e) {
    if (e instanceof CommandError && e.code === "DEADLINE_EXCEEDED") throw e;
    const tab = await browser.tabs.get(tabId);
    return { title: tab.url === "about:blank" ? "" : (tab.title ?? ""), status: 0 };
  }
}

// Starts a navigation of `tabId` with `start` and answers NavigateResponse
// once it reached `mode`. `expect` is the URL asked for (navigate) or null
// (reload and history steps). `historyRoom` (history steps only) resolves
// to "yes", "none" or "unknown" before anything starts; a step the page
// could not vouch for must show a sign of life within the grace period.
async function runNavigation(tabId, start, { mode, ms, what, expect = null, historyRoom = null }) {
  const began = performance.now();
  const left = () => Math.max(1, began + ms - performance.now());
  const answer = (url, title = "", status = 0) => ({
    url,
    title,
    http_status: status,
    took: durationJson(performance.now() - began),
  });
  const room = historyRoom ? await historyRoom(left()) : "yes";
  if (room === "none") throw failedPrecondition(`${what}: the tab's history has no such entry`);
  if (mode === WAIT_NONE && !historyRoom) {
    await start();
    return answer(expect ?? (await browser.tabs.get(tabId)).url);
  }
  const { started, done } = followNavigation(
    async () => {
      await start();
      return tabId;
    },
    {
      waitUntil: mode === WAIT_NONE ? WAIT_LOAD : mode,
      ms: left(),
      what,
      // The blank page a tab starts with may still be finishing.
      ignoreUrl: (url) => expect !== null && expect !== "about:blank" && url === "about:blank",
      sameDocument: (url) => (expect === null ? historyRoom !== null : url === expect),
    },
  );
  done.catch(() => {});
  if (historyRoom) {
    const grace = room === "unknown" ? Math.min(HISTORY_START_GRACE_MS, left()) : left();
    let url;
    try {
      url = await withTimeout(started, grace, what);
    } catch (e) {
      if (room === "unknown" && e instanceof CommandError && e.code === "DEADLINE_EXCEEDED") {
        throw failedPrecondition(`${what}: nothing started within ${grace} ms; the tab's history has no such entry`);
      }
      throw e;
    }
    // The entry's URL, as the step began.
    if (mode === WAIT_NONE) return answer(url);
  }
  const reached = await done;
  const facts = await pageFacts(tabId, left());
  // A restored or same-document page was served by no response now.
  return answer(reached.url, facts.title, reached.bfcache || reached.sameDocument ? 0 : facts.status);
}

// Runs in the top frame (MAIN world, where the Navigation API lives):
// whether session history has an entry `step` (-1, 1) away. The Navigation
// API sees only the run of same-origin entries around the current one, so
// with other origins in the history the page cannot always tell.
function historyRoomInPage(step) {
  if (history.length <= 1) return "none";
  const nav = window.navigation;
  if (!nav?.currentEntry) return "unknown";
  if (step < 0 ? nav.canGoBack : nav.canGoForward) return "yes";
  return nav.entries().length === history.length ? "none" : "unknown";
}

function historyRoom(tabId, step) {
  return async (ms) => {
    try {
      const options = { world: "MAIN", timeoutMs: ms, what: "reading the tab's history" };
      return await runInFrame({ tabId }, historyRoomInPage, [step], options);
    } catch (e) {
      if (e instanceof CommandError && e.code === "DEADLINE_EXCEEDED") throw e;
      return "unknown";  // A page that runs no extension script: try and see.
    }
  };
}

// Loads the data: URL `url` in `tab` as navigate does. Firefox lets no
// extension load one into a tab (tabs.update: "Illegal URL"), but lets the
// tab's own document when --url_schemes allows data: (the server then lifts
// Firefox's block of top-level data: documents); that includes a new tab's
// about:blank.
export function loadDataUrl(tab, url, mode, ms) {
  const load = () =>
    runInFrame({ tabId: tab.id }, (target) => void (location.href = target), [url], { world: "MAIN", timeoutMs: ms, what: "starting a data: load" }).catch((e) => {
      throw failedPrecondition(`a data: URL can only be loaded by the tab's document, and the tab shows ${tab.url}: ${e.message}`);
    });
  return runNavigation(tab.id, load, { mode, ms, what: "loading a data: URL", expect: url });
}

// Loads `url` in the tab; see NavigateRequest.
async function navigate(params) {
  const url = checkUrl(requireString(params, "url"));
  const mode = waitUntil(params);
  const ms = timeoutMs(params, 30000);
  const tab = await resolveTab(params.tab_id);
  if (url.startsWith("data:")) return loadDataUrl(tab, url, mode, ms);
  return runNavigation(tab.id, () => browser.tabs.update(tab.id, { url }), { mode, ms, what: `loading ${url}`, expect: url });
}

// Reloads the tab's document; bypass_cache revalidates nothing.
async function reload(params) {
  const mode = waitUntil(params);
  const ms = timeoutMs(params, 30000);
  const tab = await resolveTab(params.tab_id);
  const bypassCache = params.bypass_cache === true;
  return runNavigation(tab.id, () => browser.tabs.reload(tab.id, { bypassCache }), { mode, ms, what: `reloading ${tab.url}` });
}

function historyStep(step) {
  const name = step < 0 ? "going back" : "going forward";
  return async (params) => {
    const mode = waitUntil(params);
    const ms = timeoutMs(params, 30000);
    const tab = await resolveTab(params.tab_id);
    const start = () => (step < 0 ? browser.tabs.goBack(tab.id) : browser.tabs.goForward(tab.id));
    return runNavigation(tab.id, start, { mode, ms, what: `${name} from ${tab.url}`, historyRoom: historyRoom(tab.id, step) });
  };
}

async function title(params) {
  const tab = await resolveTab(params.tab_id);
  const { title } = await pageFacts(tab.id, timeoutMs(params, 30000), documentTitle);
  return { title };
}

async function url(params) {
  const tab = await resolveTab(params.tab_id);
  return { url: tab.url ?? "" };
}

// Runs in the frame: its markup with the doctype.
function serializeDocument() {
  const doctype = document.doctype ? new XMLSerializer().serializeToString(document.doctype) : "";
  return doctype + (document.documentElement?.outerHTML ?? "");
}

// The HTML of the tab's top document, or of one frame (`target`).
async function content(params) {
  const where = await resolveTarget(params.target ?? { tab_id: params.tab_id });
  const options = { timeoutMs: timeoutMs(params, 30000), what: "reading the page's HTML" };
  const html = await runInFrame(where, serializeDocument, [], options);
  return { html: html ?? "" };
}

export const navigationCommands = {
  navigate,
  reload,
  go_back: historyStep(-1),
  go_forward: historyStep(1),
  title,
  url,
  content,
};
