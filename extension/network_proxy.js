// set_proxy: a proxy.onRequest listener sends the page requests through the
// lease's proxy (the extension's own and the hub's go direct, and so do
// the bypass hosts); a webRequest.onAuthRequired listener answers the
// proxy's 407 with the lease's credentials, once per request, so wrong
// credentials fail the request instead of looping.
//
// Firefox limits: an HTTP/HTTPS proxy's credentials can only be given when
// it asks (Basic or Digest challenge), and an unanswered challenge would
// open a login prompt nobody can see, so a second challenge cancels the
// request (the page sees a network error, not the 407).
import { invalidArgument } from "./errors.js";
import { onReset } from "./lease_state.js";
import { hostOf, isPageRequest } from "./network_scope.js";

const PROXY_TYPES = new Map([
  ["PROXY_TYPE_HTTP", "http"],
  ["PROXY_TYPE_HTTPS", "https"],
  ["PROXY_TYPE_SOCKS4", "socks4"],
  ["PROXY_TYPE_SOCKS5", "socks"],
]);
const DIRECT = "PROXY_TYPE_DIRECT_UNSPECIFIED";
const ALL = { urls: ["<all_urls>"] };

let proxy = null;         // {info, bypass: [host | {suffix}], credentials}; null: direct.
const answered = new Set();  // Request ids whose 407 got the credentials.

function parseBypass(entry) {
  if (typeof entry !== "string" || entry === "" || /[\s/]/.test(entry)) {
    throw invalidArgument(`bypass: ${JSON.stringify(entry)} is not a host or *.suffix`);
  }
  const host = entry.toLowerCase();
  return host.startsWith("*.") ? { suffix: host.slice(1) } : host;
}

// Validates the request; null for DIRECT.
export function parseProxy(params) {
  const name = params?.type ?? DIRECT;
  if (name === DIRECT) return null;
  const type = PROXY_TYPES.get(name);
  if (!type) throw invalidArgument(`unknown proxy type ${JSON.stringify(name)}`);
  const host = params.host ?? "";
  if (typeof host !== "string" || host === "" || /[\s/]/.test(host)) {
    throw invalidArgument(`a ${name} proxy needs a host name or address`);
  }
  const port = params.port ?? 0;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw invalidArgument(`proxy port ${port} is not in 1..65535`);
  }
  const username = params.username ?? "";
  const password = params.password ?? "";
  if (typeof username !== "string" || typeof password !== "string") {
    throw invalidArgument("username and password must be strings");
  }
  const info = { type, host, port };
  if (type === "socks" || type === "socks4") {
    // The proxy resolves names (SOCKS5, SOCKS4a): the page's DNS lookups do
    // not leave from this machine.
    info.proxyDNS = true;
    if (username) Object.assign(info, { username, password });
  }
  const bypass = (params.bypass ?? []).map(parseBypass);
  const httpCredentials = (type === "http" || type === "https") && username ? { username, password } : null;
  return { info, bypass, httpCredentials };
}

function bypassed(url) {
  const host = hostOf(url);
  return proxy.bypass.some((b) => (typeof b === "string" ? host === b : host.endsWith(b.suffix)));
}

function route(details) {
  if (!proxy || !isPageRequest(details) || bypassed(details.url)) return { type: "direct" };
  return proxy.info;
}

function answerProxyAuth(details) {
  if (!proxy?.httpCredentials || !details.isProxy || !isPageRequest(details)) return {};
  if (answered.has(details.requestId)) return { cancel: true };
  answered.add(details.requestId);
  return { authCredentials: proxy.httpCredentials };
}

function forget(details) {
  answered.delete(details.requestId);
}

function listen(event, listener, ...extra) {
  if (!event.hasListener(listener)) event.addListener(listener, ...extra);
}

function unlisten(event, listener) {
  if (event.hasListener(listener)) event.removeListener(listener);
}

// Replaces the proxy (null: direct, and no listener at all).
export function applyProxy(next) {
  proxy = next;
  answered.clear();
  if (next) {
    listen(browser.proxy.onRequest, route, ALL);
  } else {
    unlisten(browser.proxy.onRequest, route);
  }
  if (next?.httpCredentials) {
    listen(browser.webRequest.onAuthRequired, answerProxyAuth, ALL, ["blocking"]);
    listen(browser.webRequest.onCompleted, forget, ALL);
    listen(browser.webRequest.onErrorOccurred, forget, ALL);
  } else {
    unlisten(browser.webRequest.onAuthRequired, answerProxyAuth);
    unlisten(browser.webRequest.onCompleted, forget);
    unlisten(browser.webRequest.onErrorOccurred, forget);
  }
}

onReset("network proxy", () => applyProxy(null));
