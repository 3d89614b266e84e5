// wait_for_network_idle: the requests in flight in each tab, tracked from
// the extension's start (so a wait knows the requests that began before
// it), and waits that settle when a tab has had none for a while. Event
// driven: each change re-arms the waits' timers.
//
// WebSocket connections are not counted: one stays open for as long as the
// page likes, which is not the page loading.
import { deadlineExceeded } from "./errors.js";

const inFlight = new Map();  // tabId → Map(requestId → url)
const lastChange = new Map(); // tabId → performance.now() of the last start or end
const waiters = new Set();    // {tabId, changed()}
const TRACKED = { urls: ["http://*/*", "https://*/*"] };

function changed(tabId) {
  lastChange.set(tabId, performance.now());
  for (const waiter of waiters) if (waiter.tabId === tabId) waiter.changed();
}

function started(details) {
  if (details.tabId < 0 || details.type === "websocket") return;
  let requests = inFlight.get(details.tabId);
  if (!requests) inFlight.set(details.tabId, (requests = new Map()));
  requests.set(details.requestId, details.url);
  changed(details.tabId);
}

function ended(details) {
  const requests = inFlight.get(details.tabId);
  if (!requests?.delete(details.requestId)) return;
  if (requests.size === 0) inFlight.delete(details.tabId);
  changed(details.tabId);
}

browser.webRequest.onBeforeRequest.addListener(started, TRACKED);
browser.webRequest.onCompleted.addListener(ended, TRACKED);
browser.webRequest.onErrorOccurred.addListener(ended, TRACKED);
browser.tabs.onRemoved.addListener((tabId) => {
  inFlight.delete(tabId);
  lastChange.delete(tabId);
});

function pending(tabId) {
  return inFlight.get(tabId)?.size ?? 0;
}

// Resolves with the milliseconds waited once `tabId` has had no request in
// flight for `idleMs` (counted from the later of the last request's end and
// the call); rejects with DEADLINE_EXCEEDED after `waitMs`, naming the
// caller's `timeoutMs`.
export function waitForIdle(tabId, { idleMs, waitMs, timeoutMs }) {
  const begin = performance.now();
  return new Promise((resolve, reject) => {
    let idleTimer = null;
    const waiter = { tabId };
    const finish = () => {
      clearTimeout(idleTimer);
      clearTimeout(deadline);
      waiters.delete(waiter);
    };
    waiter.changed = () => {
      clearTimeout(idleTimer);
      if (pending(tabId) > 0) return;
      const quietSince = Math.max(begin, lastChange.get(tabId) ?? begin);
      idleTimer = setTimeout(() => {
        // A timer may fire a hair before the clock shows the time passed.
        if (performance.now() - quietSince < idleMs) {
          waiter.changed();
          return;
        }
        finish();
        resolve(performance.now() - begin);
      }, Math.max(1, quietSince + idleMs - performance.now()));
    };
    const deadline = setTimeout(() => {
      finish();
      const urls = [...(inFlight.get(tabId)?.values() ?? [])];
      const quiet = Math.round(performance.now() - (lastChange.get(tabId) ?? begin));
      const still =
        urls.length > 0
          ? `${urls.length} request(s) still in flight, e.g. ${urls[0]}`
          : `no request in flight, but the last one ended only ${quiet} ms before`;
      reject(deadlineExceeded(`tab ${tabId} was not network-idle for ${idleMs} ms within ${timeoutMs} ms: ${still}`));
    }, waitMs);
    waiters.add(waiter);
    waiter.changed();
  });
}
