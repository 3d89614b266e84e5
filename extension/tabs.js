// The window's current tab, and following a tab's navigation until its top
// document reaches the point a caller waits for.
import { failedPrecondition, notFound, unavailable, withTimeout } from "./errors.js";
import { blockedNavigation } from "./network_policy.js";

// Names of the network errors a caller is most likely to meet; Firefox
// reports them as bare numbers ("Error code 2152398861").
const NS_BINDING_ABORTED = 0x804b0002;
const NETWORK_ERRORS = new Map([
  [0x80004004, "NS_ERROR_ABORT"],
  [0x804b000d, "NS_ERROR_CONNECTION_REFUSED"],
  [0x804b000e, "NS_ERROR_NET_TIMEOUT"],
  [0x804b0014, "NS_ERROR_NET_RESET"],
  [0x804b001e, "NS_ERROR_UNKNOWN_HOST"],
  [0x804b0047, "NS_ERROR_NET_INTERRUPT"],
  [0x804b0013, "NS_ERROR_PORT_ACCESS_NOT_ALLOWED"],
  [0x804b002a, "NS_ERROR_UNKNOWN_PROXY_HOST"],
  [0x804b0048, "NS_ERROR_PROXY_CONNECTION_REFUSED"],
  [0x805e0006, "NS_ERROR_CONTENT_BLOCKED"],
]);

export function describeNetworkError(error) {
  const match = /Error code (\d+)/.exec(error ?? "");
  const name = match && NETWORK_ERRORS.get(Number(match[1]));
  return name ? `${name} (${error})` : String(error);
}

export async function activeTab() {
  const [tab] = await browser.tabs.query({ active: true, lastFocusedWindow: true });
  if (tab) return tab;
  const [any] = await browser.tabs.query({});
  if (!any) throw failedPrecondition("the window has no tab");
  return any;
}

// How far followNavigation waits (the proto's WaitUntil).
export const WAIT_LOAD = "load";
export const WAIT_DOM_CONTENT_LOADED = "dom_content_loaded";
export const WAIT_NONE = "none";

// The top-frame webNavigation events followNavigation listens to.
const EVENTS = {
  onBeforeNavigate: "started",
  onCommitted: "committed",
  onDOMContentLoaded: "dom_content_loaded",
  onCompleted: "completed",
  onErrorOccurred: "error",
  onReferenceFragmentUpdated: "same_document",
  onHistoryStateUpdated: "same_document",
};

// Calls `start()` (which returns the id of the tab it navigates, so that it
// may create that tab) and follows that tab's next top-level navigation.
// Returns {started, done}: `started` resolves with the URL at the first
// sign of it (so a caller can tell a history step that went nowhere), `done` with {url,
// bfcache, sameDocument} once the top document reached `waitUntil`
// (WAIT_LOAD or WAIT_DOM_CONTENT_LOADED). Both reject with UNAVAILABLE on a
// network error, DEADLINE_EXCEEDED after `ms`.
//
// Only events after a commit count as this navigation's: a document that
// was still loading when `start` ran (the blank page of a new tab, a slow
// page) finishes after it. Firefox reports no commit for about:blank, so
// there its onBeforeNavigate stands in. `ignoreUrl(url)` drops the events
// of such a document before the commit too; `sameDocument(url)` says
// whether a fragment or pushState change to `url` completes the
// navigation. A page restored from the back/forward cache commits and
// completes without a DOMContentLoaded: done reports bfcache.
export function followNavigation(start, options) {
  const { waitUntil, ms, what, ignoreUrl = () => false, sameDocument = () => false } = options;
  const followedSince = Date.now();
  let tabId;
  let committed = false;
  let blankStarted = false;
  let sawDomContentLoaded = false;
  const early = [];
  const hooks = {};
  const started = new Promise((resolve, reject) => Object.assign(hooks, { started: resolve, failStarted: reject }));
  const done = new Promise((resolve, reject) => Object.assign(hooks, { done: resolve, failDone: reject }));
  started.catch(() => {});
  const fail = (error) => {
    hooks.failStarted(error);
    hooks.failDone(error);
  };

  const counts = (details) => committed || (blankStarted && details.url === "about:blank");

  function handle(kind, details) {
    if (kind !== "error" && ignoreUrl(details.url)) return;
    hooks.started(details.url);
    if (kind === "error") {
      // A load replaced by another (a process switch, a redirect) reports
      // NS_BINDING_ABORTED before the replacement goes on: keep waiting.
      if ((details.error ?? "").includes(String(NS_BINDING_ABORTED))) return;
      const blocked = blockedNavigation(details.tabId, details.url);
      // A load blocked before this navigation began, reported late: not ours.
      if (blocked && blocked.at < followedSince) return;
      fail(blocked?.error ?? unavailable(`navigation to ${details.url} failed: ${describeNetworkError(details.error)}`));
    } else if (kind === "started") {
      blankStarted ||= details.url === "about:blank";
    } else if (kind === "committed") {
      committed = true;
      sawDomContentLoaded = false;
    } else if (kind === "same_document") {
      if (!committed && sameDocument(details.url)) hooks.done({ url: details.url, bfcache: false, sameDocument: true });
    } else if (kind === "dom_content_loaded") {
      if (!counts(details)) return;
      sawDomContentLoaded = true;
      if (waitUntil === WAIT_DOM_CONTENT_LOADED) hooks.done({ url: details.url, bfcache: false, sameDocument: false });
    } else if (kind === "completed") {
      if (counts(details)) hooks.done({ url: details.url, bfcache: !sawDomContentLoaded, sameDocument: false });
    }
  }

  const removers = [];
  function listen(target, listener) {
    target.addListener(listener);
    removers.push(() => target.removeListener(listener));
  }
  for (const [event, kind] of Object.entries(EVENTS)) {
    listen(browser.webNavigation[event], (details) => {
      if (details.frameId !== 0) return;
      if (tabId === undefined) early.push([kind, details]);
      else if (details.tabId === tabId) handle(kind, details);
    });
  }
  listen(browser.tabs.onRemoved, (removed) => {
    if (removed === tabId) fail(notFound(`tab ${tabId} was closed during ${what}`));
  });

  Promise.resolve()
    .then(start)
    .then((id) => {
      tabId = id;
      for (const [kind, details] of early.splice(0)) if (details.tabId === tabId) handle(kind, details);
    })
    .catch(fail);
  const timed = withTimeout(done, ms, what).finally(() => removers.forEach((remove) => remove()));
  timed.catch(fail);
  return { started, done: timed };
}

// Resolves when the top frame of `tabId` has loaded, rejects on a network
// error. `start` triggers the navigation once the listeners are in place.
export async function loadTab(tabId, start, ms, what) {
  const { done } = followNavigation(
    async () => {
      await start();
      return tabId;
    },
    { waitUntil: WAIT_LOAD, ms, what, sameDocument: () => true },
  );
  await done;
}
