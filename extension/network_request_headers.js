// The one blocking webRequest.onBeforeSendHeaders listener of the network
// settings. Firefox applies each listener's header list as a whole, so two
// listeners would undo each other's changes; the settings that change
// headers (extra headers, user agent, proxy credentials) each register a
// source here instead, and the listener exists while any source does.
import { isPageRequest } from "./network_scope.js";

// name → (details) => [{name, value}] to add or replace (value null:
// remove); later sources win.
const sources = new Map();

function rewriteHeaders(details) {
  if (!isPageRequest(details)) return {};
  const overrides = new Map();
  for (const source of sources.values()) {
    for (const header of source(details)) overrides.set(header.name.toLowerCase(), header);
  }
  if (overrides.size === 0) return {};
  const kept = details.requestHeaders.filter((h) => !overrides.has(h.name.toLowerCase()));
  const added = [...overrides.values()].filter((h) => h.value !== null);
  return { requestHeaders: [...kept, ...added] };
}

// Sets (or, with null, removes) the source called `name`.
export function setHeaderSource(name, source) {
  if (source) sources.set(name, source);
  else sources.delete(name);
  const event = browser.webRequest.onBeforeSendHeaders;
  const listening = event.hasListener(rewriteHeaders);
  if (sources.size > 0 && !listening) {
    event.addListener(rewriteHeaders, { urls: ["<all_urls>"] }, ["blocking", "requestHeaders"]);
  } else if (sources.size === 0 && listening) {
    event.removeListener(rewriteHeaders);
  }
}
