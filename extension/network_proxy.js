// set_proxy: a proxy.onRequest listener sends the page requests through the
// lease's proxy (the extension's own and the hub's go direct, and so do
// the bypass hosts).
//
// Credentials: SOCKS5 ones go in the handshake; HTTP/HTTPS ones are sent
// with every request as a Basic Proxy-Authorization header (Firefox puts
// the proxy info's header on CONNECT requests only, so http: requests get
// it through network_request_headers.js), not answered to a 407 through
// webRequest.onAuthRequired. Firefox keeps credentials
// answered to a challenge in its HTTP auth cache, which no extension API
// can clear, so the next lease would go on authenticating with them. A
// proxy that still answers 407 (wrong credentials, or it wants Digest or
// NTLM) fails the request at once: its challenge is cancelled, which also
// keeps Firefox from opening a login prompt nobody would answer.
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

let proxy = null; // {info, bypass: [host | {suffix}]}; null: direct.

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
  } else if (username) {
    info.proxyAuthorizationHeader = basicAuthorization(username, password);
  }
  const bypass = (params.bypass ?? []).map(parseBypass);
  return { info, bypass };
}

function basicAuthorization(username, password) {
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

// The proxy's credentials for a request sent to it in the clear (http:,
// ws:); an https: one carries them on its CONNECT, never inside the tunnel
// where the site would read them.
function proxyAuthorization(details) {
  const via = details.proxyInfo;
  const header = proxy?.info.proxyAuthorizationHeader;
  if (!header || !via || via.host !== proxy.info.host || via.port !== proxy.info.port) return [];
  if (!/^(http|ws):/.test(details.url)) return [];
  return [{ name: "Proxy-Authorization", value: header }];
}

// A page request the proxy challenged: refused (see the top of the file).
function refuseProxyChallenge(details) {
  return details.isProxy && isPageRequest(details) ? { cancel: true } : {};
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
  if (next) {
    listen(browser.proxy.onRequest, route, ALL);
    listen(browser.webRequest.onAuthRequired, refuseProxyChallenge, ALL, ["blocking"]);
  } else {
    unlisten(browser.proxy.onRequest, route);
    unlisten(browser.webRequest.onAuthRequired, refuseProxyChallenge);
  }
  setHeaderSource("proxy authorization", next?.info.proxyAuthorizationHeader ? proxyAuthorization : null);
}

onReset("network proxy", () => applyProxy(null));
