// The window's current tab, and waiting for a tab to finish loading.
import { failedPrecondition, unavailable, withTimeout } from "./errors.js";

// Names of the network errors a caller is most likely to meet; Firefox
// reports them as bare numbers ("Error code 2152398861").
const NS_BINDING_ABORTED = 0x804b0002;
const NETWORK_ERRORS = new Map([
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

function describeNetworkError(error) {
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

// Resolves when the top frame of `tabId` has loaded, rejects on a network
// error. `start` triggers the navigation once the listeners are in place.
export function loadTab(tabId, start, ms, what) {
  let cleanup = () => {};
  const loaded = new Promise((resolve, reject) => {
    const onCompleted = (details) => {
      if (details.tabId === tabId && details.frameId === 0) resolve();
    };
    const onError = (details) => {
      if (details.tabId !== tabId || details.frameId !== 0) return;
      // A load replaced by another (a process switch, a redirect) reports
      // NS_BINDING_ABORTED before the replacement completes: keep waiting.
      if ((details.error ?? "").includes(String(NS_BINDING_ABORTED))) return;
      reject(unavailable(`navigation to ${details.url} failed: ${describeNetworkError(details.error)}`));
    };
    browser.webNavigation.onCompleted.addListener(onCompleted);
    browser.webNavigation.onErrorOccurred.addListener(onError);
    cleanup = () => {
      browser.webNavigation.onCompleted.removeListener(onCompleted);
      browser.webNavigation.onErrorOccurred.removeListener(onError);
    };
    Promise.resolve().then(start).catch(reject);
  });
  return withTimeout(loaded, ms, what).finally(cleanup);
}
