// set_block_rules: a blocking webRequest.onBeforeRequest listener that
// cancels the page requests whose URL matches a pattern or whose resource
// type is listed. A cancelled request fails in the page as a network error.
import { invalidArgument } from "./errors.js";
import { onReset } from "./lease_state.js";
import { isPageRequest } from "./network_scope.js";

// The proto's ResourceType → webRequest's resource types.
const RESOURCE_TYPES = new Map([
  ["RESOURCE_TYPE_IMAGE", ["image", "imageset"]],
  ["RESOURCE_TYPE_FONT", ["font"]],
  ["RESOURCE_TYPE_MEDIA", ["media"]],
  ["RESOURCE_TYPE_STYLESHEET", ["stylesheet"]],
  ["RESOURCE_TYPE_SCRIPT", ["script"]],
  ["RESOURCE_TYPE_XHR", ["xmlhttprequest"]],  // fetch() is reported as xmlhttprequest too.
  ["RESOURCE_TYPE_SUBFRAME", ["sub_frame"]],
  ["RESOURCE_TYPE_WEBSOCKET", ["websocket"]],
]);

let rules = null; // {patterns: [[segment, ...]], types: Set}; null: no listener.

// A pattern where `*` matches any run of characters and the rest is
// literal, as the list of literal pieces between the stars.
function compilePattern(pattern) {
  if (typeof pattern !== "string" || pattern === "") {
    throw invalidArgument("url_patterns: a pattern must be a non-empty string");
  }
  return pattern.split("*");
}

// Whether the whole `url` matches the pattern's pieces: the first is a
// prefix, the last a suffix, the others appear in order between them.
// Leftmost matching is exact for `*`-only globs and cannot backtrack.
function matches(pieces, url) {
  if (pieces.length === 1) return url === pieces[0];
  const first = pieces[0];
  const last = pieces[pieces.length - 1];
  if (url.length < first.length + last.length || !url.startsWith(first) || !url.endsWith(last)) return false;
  let at = first.length;
  const end = url.length - last.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const found = url.indexOf(pieces[i], at);
    if (found < 0 || found + pieces[i].length > end) return false;
    at = found + pieces[i].length;
  }
  return true;
}

function compileTypes(names) {
  const types = new Set();
  for (const name of names) {
    const mapped = RESOURCE_TYPES.get(name);
    if (!mapped) throw invalidArgument(`resource_types: unknown resource type ${JSON.stringify(name)}`);
    mapped.forEach((t) => types.add(t));
  }
  return types;
}

function list(params, name) {
  const value = params?.[name] ?? [];
  if (!Array.isArray(value)) throw invalidArgument(`${name} must be a list`);
  return value;
}

// Validates the request into rules; null when it blocks nothing.
export function parseBlockRules(params) {
  const patterns = list(params, "url_patterns").map(compilePattern);
  const types = compileTypes(list(params, "resource_types"));
  return patterns.length === 0 && types.size === 0 ? null : { patterns, types };
}

function cancelBlocked(details) {
  if (!rules || !isPageRequest(details)) return {};
  if (rules.types.has(details.type) || rules.patterns.some((p) => matches(p, details.url))) {
    return { cancel: true };
  }
  return {};
}

// Replaces the rules (null: none, and no listener at all).
export function applyBlockRules(next) {
  rules = next;
  const listening = browser.webRequest.onBeforeRequest.hasListener(cancelBlocked);
  if (next && !listening) {
    browser.webRequest.onBeforeRequest.addListener(cancelBlocked, { urls: ["<all_urls>"] }, ["blocking"]);
  } else if (!next && listening) {
    browser.webRequest.onBeforeRequest.removeListener(cancelBlocked);
  }
}

onReset("network block rules", () => applyBlockRules(null));
