// Which requests a lease's network settings act on: those of the window's
// tabs. The extension's own traffic (tabId -1) and its hub connection are
// never blocked, rewritten or proxied, so no setting can cut the window off
// from the server.
let hubHost = null;

fetch(browser.runtime.getURL("config.json"))
  .then((response) => response.json())
  .then((config) => {
    hubHost = new URL(config.hub).host;
  })
  .catch(() => {});  // No config, no hub: background.js cannot connect either.

function isHub(url) {
  if (hubHost === null) return false;
  try {
    return new URL(url).host === hubHost;
  } catch {
    return false;
  }
}

// `details` is a webRequest or proxy.onRequest event's details.
export function isPageRequest(details) {
  return typeof details.tabId === "number" && details.tabId >= 0 && !isHub(details.url);
}

// The host part of a request URL, lower case ("" when it has none).
export function hostOf(url) {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return "";
  }
}
