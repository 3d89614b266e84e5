// set_proxy: a proxy.onRequest listener sends the page requests through the
// lease's proxy (the extension's own and the hub's go direct, and so do
// the bypass hosts).
//
// Credentials: SOCKS ones go in the handshake. HTTP/HTTPS ones go with
// every http: request to the proxy as a Basic Proxy-Authorization header,
// and answer the proxy's 407 (on a CONNECT for an https: page, or a Digest
// challenge) through webRequest.onAuthRequired, once per request: a second
// challenge, like one when the lease gave no credentials, fails the request
// at once instead of looping or opening a login prompt nobody would see.
//
// Firefox limit: credentials answered to a challenge stay in Firefox's HTTP
// auth cache, which no extension API clears. The header above overrides
// (or, without credentials, removes) what the cache adds to http:
// requests, but a CONNECT to the same proxy and realm keeps reusing the
// cached identity, in this lease and the next ones of this window.
import { invalidArgument } from "./errors.js";
import { onReset } from "./lease_state.js";
import { setHeaderSource } from "./network_request_headers.js";
import { hostOf, isPageRequest } from "./network_scope.js";

const PROXY_TYPES = new Map([
  ["PROXY_TYPE_HTTP", "http"],
  ["PROXY_TYPE_HTTPS", "https"],
  ["PROXY_TYPE_SOCKS4", "socks4"],
  ["PROXY_TYPE_SOCKS5", "socks"],
]);
const DIRECT = "PROXY_TYPE_DIRECT_UNSPECIFIED";
const ALL = { urls: ["<all_urls>"] };

// {info, bypass: [host | {suffix}], credentials, authorization}; null: direct.
let proxy = null;
const answered = new Set(); // Ids of the requests whose challenge got the credentials.
// Credentials went to a challenge during this lease. Firefox keeps them in
// its HTTP auth cache, which no extension API clears, and would send them
// for the next lease: such a window is recycled, not reused.
let credentialsCached = false;

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
  const http = type === "http" || type === "https";
  const credentials = http && username ? { username, password } : null;
  const authorization = credentials ? basicAuthorization(credentials) : null;
  const bypass = (params.bypass ?? []).map(parseBypass);
  return { info, bypass, credentials, authorization };
}

function basicAuthorization({ username, password }) {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

function bypassed(url) {
  const host = hostOf(url);
  return proxy.bypass.some((b) => (typeof b === "string" ? host === b : host.endsWith(b.suffix)));
}

function route(details) {
  if (!proxy || !isPageRequest(details) || bypassed(details.url)) return { type: "direct" };
  return proxy.info;
}

// The Proxy-Authorization of a page request sent to the proxy in the
// clear (http:, ws:): the lease's credentials, or none. An https: one
// carries them on its CONNECT, never inside the tunnel where the site
// would read them.
function proxyAuthorization(details) {
  const via = details.proxyInfo;
  if (!proxy || !via || via.host !== proxy.info.host || via.port !== proxy.info.port) return [];
  if (!/^(http|ws):/.test(details.url)) return [];
  return [{ name: "Proxy-Authorization", value: proxy.authorization }];
}

// The proxy challenged a page request: the credentials once, then refusal.
function answerProxyChallenge(details) {
  if (!details.isProxy || !isPageRequest(details)) return {};
  if (!proxy?.credentials || answered.has(details.requestId)) return { cancel: true };
  answered.add(details.requestId);
  credentialsCached = true;
  return { authCredentials: proxy.credentials };
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
  const http = next?.info.type === "http" || next?.info.type === "https";
  if (next) {
    listen(browser.proxy.onRequest, route, ALL);
  } else {
    unlisten(browser.proxy.onRequest, route);
  }
  if (http) {
    listen(browser.webRequest.onAuthRequired, answerProxyChallenge, ALL, ["blocking"]);
    listen(browser.webRequest.onCompleted, forget, ALL);
    listen(browser.webRequest.onErrorOccurred, forget, ALL);
  } else {
    unlisten(browser.webRequest.onAuthRequired, answerProxyChallenge);
    unlisten(browser.webRequest.onCompleted, forget);
    unlisten(browser.webRequest.onErrorOccurred, forget);
  }
  setHeaderSource("proxy authorization", http ? proxyAuthorization : null);
}

onReset("network proxy", () => {
  applyProxy(null);
  if (credentialsCached) {
    throw new Error("Firefox caches the proxy credentials this lease gave and no extension API clears them, so the window is recycled");
  }
});
