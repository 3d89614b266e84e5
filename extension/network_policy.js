// The navigation policy of the window (--url_schemes,
// --block_private_networks, --allow_hosts), from this window's config.json:
// a blocking webRequest listener sees every request its pages make (frames,
// fetch/XHR, WebSocket, images, scripts, beacons, speculative connections,
// each hop of a redirect) and cancels those of a tab whose document would
// have a scheme the server does not allow, or whose destination is a
// loopback, private, link-local... address. IP hosts are judged as the URL
// parser normalised them (2130706433 → 127.0.0.1); names after DNS, blocked
// if any of their addresses is. The server checks the URLs callers send the
// same way (firefox/url_policy.cc): the ranges below must match its own.
//
// The extension's own traffic (its hub WebSocket, config.json) comes from
// its background page (tabId -1, our moz-extension origin) and is left
// alone; a page's request never is, whatever its port.
import { CommandError } from "./errors.js";
import { emit, send } from "./events.js";

const OWN_ORIGIN = browser.runtime.getURL("");
const NETWORK_SCHEMES = new Set(["http:", "https:", "ws:", "wss:"]);
const DEFAULT_PORTS = { "http:": 80, "ws:": 80, "https:": 443, "wss:": 443 };
// How long a cancelled top-level load explains the navigation error
// that follows it.
const EXPLAIN_MS = 10000;

// [first address, prefix length, name]; as kV4Ranges in url_policy.cc.
const V4_RANGES = [
  ["0.0.0.0", 8, '"this network" (0.0.0.0/8)'],
  ["10.0.0.0", 8, "private"],
  ["100.64.0.0", 10, "carrier-grade NAT"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local (cloud metadata)"],
  ["172.16.0.0", 12, "private"],
  ["192.168.0.0", 16, "private"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved"],
].map(([address, bits, name]) => [parseV4(address), bits, name]);
const V6_RANGES = [
  ["::", 128, "unspecified"],
  ["::1", 128, "loopback"],
  ["fc00::", 7, "unique local"],
  ["fe80::", 10, "link-local"],
  ["fec0::", 10, "site-local"],
  ["ff00::", 8, "multicast"],
].map(([address, bits, name]) => [parseV6(address), bits, name]);
// IPv6 forms whose last 32 bits are an IPv4 address: mapped, compatible, NAT64.
const V4_CARRYING = [["::ffff:0:0", 96], ["::", 96], ["64:ff9b::", 96]].map(([a, bits]) => [parseV6(a), bits]);

let policy = { schemes: ["http", "https", "about:blank"], block_private_networks: false, allow_hosts: [] };
let allowed = [];  // policy.allow_hosts, parsed: {name} | {ip, bits, port}
// Requests cancelled since the window started, by reason; the hub gets the
// totals (a lost or late frame only delays the count), at most every
// TOTALS_EVERY_MS however many requests a page makes.
const blockedTotals = { scheme: 0, private_network: 0, unresolved: 0 };
const TOTALS_EVERY_MS = 250;
let totalsTimer = null;
const blockedNavigations = new Map();  // tabId → [{url, error, at}], the last EXPLAIN_MS

// The listener starts with the policy; background.js connects to the hub
// (so no command can load a page) only once this has settled. Without the
// block only top-level loads are looked at, for their scheme.
export const policyReady = fetch(browser.runtime.getURL("config.json"))
  .then((response) => response.json())
  .then((config) => {
    if (config.policy) policy = config.policy;
    allowed = policy.allow_hosts.map(parseAllowed);
    const filter = { urls: ["<all_urls>"] };
    if (!policy.block_private_networks) filter.types = ["main_frame"];
    browser.webRequest.onBeforeRequest.addListener(check, filter, ["blocking"]);
  })
  .catch(() => {});  // No config: background.js cannot connect either.

// Dotted IPv4 → 32-bit number; null for anything else.
function parseV4(text) {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) < 256)) return null;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

// IPv6 (no brackets) → eight 16-bit numbers; null for anything else. The
// URL parser first brings any spelling (dotted tail, upper case, zeros) to
// its one canonical form.
function parseV6(text) {
  let canonical;
  try {
    canonical = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return null;
  }
  const [head, tail] = canonical.includes("::") ? canonical.split("::") : [canonical, null];
  const groups = (s) => (s ? s.split(":").map((g) => parseInt(g, 16)) : []);
  const left = groups(head);
  const right = groups(tail);
  if (tail === null) return left.length === 8 ? left : null;
  return [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
}

function parseIp(host) {
  const v4 = parseV4(host);
  if (v4 !== null) return { v4 };
  const v6 = host.includes(":") ? parseV6(host) : null;
  return v6 ? { v6 } : null;
}

function inV4(address, first, bits) {
  if (bits === 0) return true;
  const shift = 32 - bits;
  return Math.floor(address / 2 ** shift) === Math.floor(first / 2 ** shift);
}

function inV6(address, first, bits) {
  for (let i = 0; i < 8 && bits > 0; i++, bits -= 16) {
    const keep = Math.min(bits, 16);
    const mask = (0xffff << (16 - keep)) & 0xffff;
    if ((address[i] & mask) !== (first[i] & mask)) return false;
  }
  return true;
}

// The name of the blocked range `ip` is in; null for a public address.
function blockedRange(ip) {
  if (ip.v4 !== undefined) return V4_RANGES.find(([first, bits]) => inV4(ip.v4, first, bits))?.[2] ?? null;
  const range = V6_RANGES.find(([first, bits]) => inV6(ip.v6, first, bits));
  if (range) return range[2];
  if (!V4_CARRYING.some(([first, bits]) => inV6(ip.v6, first, bits))) return null;
  const v4 = ip.v6[6] * 65536 + ip.v6[7];
  const name = blockedRange({ v4 });
  return name && `${name} (as IPv4 ${[24, 16, 8, 0].map((s) => Math.floor(v4 / 2 ** s) % 256).join(".")})`;
}

// An --allow_hosts entry as the server wrote it: a name, an address or a
// network "address/prefix"; port 0: any.
function parseAllowed({ host, port }) {
  const [address, prefix] = host.split("/");
  const ip = parseIp(address);
  if (!ip) return { name: host, port };
  const bits = prefix !== undefined ? Number(prefix) : ip.v4 !== undefined ? 32 : 128;
  return { ip, bits, port };
}

function sameFamily(a, b) {
  return (a.v4 !== undefined) === (b.v4 !== undefined);
}

function isAllowed(host, ip, port) {
  return allowed.some((entry) => {
    if (entry.port !== 0 && entry.port !== port) return false;
    if (entry.name !== undefined) return entry.name === host;
    if (!ip || !sameFamily(ip, entry.ip)) return false;
    return ip.v4 !== undefined ? inV4(ip.v4, entry.ip.v4, entry.bits) : inV6(ip.v6, entry.ip.v6, entry.bits);
  });
}

function isLocalhost(host) {
  return host === "localhost" || host.endsWith(".localhost");
}

// Whether a tab's document may have `url`'s scheme (url: a URL object).
export function schemeAllowed(url) {
  if (url.href === "about:blank") return policy.schemes.includes("about:blank");
  return url.protocol !== "about:" && policy.schemes.includes(url.protocol.slice(0, -1));
}

export function allowedSchemes() {
  return policy.schemes.join(", ");
}

// Why `destination` (host:port of an address `text`) is blocked; null if it is not.
function addressVerdict(host, text, port) {
  const ip = parseIp(text);
  if (!ip || isAllowed(host, ip, port)) return null;
  const range = blockedRange(ip);
  return range && (text === host ? `${host} is a ${range} address` : `${host} resolves to ${text}, a ${range} address`);
}

// Why a page may not reach `url` (a URL object); null if it may.
async function destinationVerdict(url) {
  let host = url.hostname.toLowerCase().replace(/\.$/, "");
  if (host.startsWith("[")) host = host.slice(1, -1);
  const port = url.port ? Number(url.port) : DEFAULT_PORTS[url.protocol];
  if (isAllowed(host, parseIp(host), port)) return null;
  if (parseIp(host)) {
    const why = addressVerdict(host, host, port);
    return why && { reason: "private_network", why };
  }
  let addresses;
  if (isLocalhost(host)) {
    addresses = ["127.0.0.1", "::1"];
  } else {
    try {
      ({ addresses } = await browser.dns.resolve(host));
    } catch (e) {
      // Unchecked is refused: the browser might resolve it otherwise a moment later.
      return { reason: "unresolved", why: `${host} could not be resolved to check it (${e?.message ?? e})` };
    }
  }
  for (const address of addresses) {
    const why = addressVerdict(host, address, port);
    if (why) return { reason: "private_network", why };
  }
  return null;
}

// Why a page may not make the request `details`: {reason, why}, or null.
async function verdict(details) {
  let url;
  try {
    url = new URL(details.url);
  } catch {
    return null;
  }
  if (details.type === "main_frame" && !schemeAllowed(url)) {
    return { reason: "scheme", why: `URL scheme ${url.protocol} is not allowed (--url_schemes: ${allowedSchemes()})` };
  }
  if (!policy.block_private_networks || !NETWORK_SCHEMES.has(url.protocol)) return null;
  const found = await destinationVerdict(url);
  return found && { reason: found.reason, why: `${found.why}; --block_private_networks refuses it` };
}

// Refuses (PERMISSION_DENIED) a proxy the block keeps pages from: every
// request would go there. The server has refused addresses and localhost
// already; names are resolved here, as for a page's request.
export async function checkProxy(host, port) {
  if (!policy.block_private_networks) return;
  const found = await destinationVerdict(new URL(`http://${host.includes(":") ? `[${host}]` : host}:${port}/`));
  if (found) throw new CommandError("PERMISSION_DENIED", `proxy ${host}:${port}: ${found.why}; --block_private_networks refuses it`);
}

function isOwn(details) {
  return details.tabId === -1 && [details.originUrl, details.documentUrl].some((u) => u?.startsWith(OWN_ORIGIN));
}

function report(details, { reason, why }) {
  blockedTotals[reason]++;
  totalsTimer ??= setTimeout(() => {
    totalsTimer = null;
    send({ type: "blocked", totals: blockedTotals });
  }, TOTALS_EVERY_MS);
  const error = new CommandError(reason === "scheme" ? "INVALID_ARGUMENT" : "PERMISSION_DENIED", `${details.url} was blocked: ${why}`);
  if (details.type === "main_frame") {
    const now = Date.now();
    const recent = (blockedNavigations.get(details.tabId) ?? []).filter((b) => now - b.at < EXPLAIN_MS);
    blockedNavigations.set(details.tabId, [...recent, { url: details.url, error, at: now }]);
  }
  emit({
    kind: "KIND_CONSOLE",
    level: "warn",
    tab_id: details.tabId,
    frame_id: details.frameId ?? 0,
    url: details.url,
    text: `foxpool blocked a request (${details.type}) to ${details.url}: ${why}`,
  });
}

async function check(details) {
  if (isOwn(details)) return {};
  const found = await verdict(details);
  if (!found) return {};
  report(details, found);
  return { cancel: true };
}

// Why the top-level load of `url` in `tabId` failed, if this listener
// cancelled it lately (Firefox then reports a bare NS_ERROR_ABORT): {error,
// at} (when it was cancelled), or null. Firefox may report the failure of a
// load the page itself started (location = ...) only once a later
// navigation is under way; `at` tells the two apart.
export function blockedNavigation(tabId, url) {
  const now = Date.now();
  const recent = (blockedNavigations.get(tabId) ?? []).filter((b) => now - b.at < EXPLAIN_MS);
  const index = recent.findIndex((b) => b.url === url);
  const found = index >= 0 ? recent.splice(index, 1)[0] : null;
  if (recent.length > 0) blockedNavigations.set(tabId, recent);
  else blockedNavigations.delete(tabId);
  return found;
}

