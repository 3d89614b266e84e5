// Cookies (browser.cookies) and a frame's localStorage / sessionStorage.
//
// Cookies come as the proto's Cookie JSON: {name, value, domain, path,
// expires (seconds since the epoch; absent for a session cookie),
// http_only, secure, same_site}. Firefox partitions the cookies of
// third-party frames by top-level site (dynamic first-party isolation):
// get_cookies for a URL returns the unpartitioned ones (what a top-level
// request carries), `all` and delete_cookies cover every partition.
import { failedPrecondition, invalidArgument } from "../errors.js";
import { timeoutMs } from "../params.js";
import { activeTab } from "../tabs.js";
import { resolveTarget, runInFrame } from "../target.js";

const SAME_SITE_TO_PROTO = { no_restriction: "SAME_SITE_NONE", lax: "SAME_SITE_LAX", strict: "SAME_SITE_STRICT" };
const SAME_SITE_FROM_PROTO = { SAME_SITE_NONE: "no_restriction", SAME_SITE_LAX: "lax", SAME_SITE_STRICT: "strict" };
const WEB_SCHEMES = new Set(["http:", "https:"]);

function cookieToProto(cookie) {
  const out = {
    name: cookie.name,
    value: cookie.value,
    domain: cookie.domain,
    path: cookie.path,
    http_only: cookie.httpOnly,
    secure: cookie.secure,
  };
  if (!cookie.session && cookie.expirationDate !== undefined) out.expires = cookie.expirationDate;
  if (SAME_SITE_TO_PROTO[cookie.sameSite]) out.same_site = SAME_SITE_TO_PROTO[cookie.sameSite];
  return out;
}

// The URL a cookie command is about: `url`, or the current tab's page.
async function cookieUrl(url) {
  if (url) {
    let parsed;
    try {
      parsed = new URL(url);
    } catch {
      throw invalidArgument(`not an absolute URL: ${url}`);
    }
    if (!WEB_SCHEMES.has(parsed.protocol)) throw invalidArgument(`cookies need an http or https URL, not ${url}`);
    return parsed.href;
  }
  const tab = await activeTab();
  if (!WEB_SCHEMES.has(new URL(tab.url).protocol)) {
    throw failedPrecondition(`the tab has no web page (it shows ${tab.url}); pass a url`);
  }
  return tab.url;
}

// The URL through which Firefox lets a stored cookie be removed.
function removalUrl(cookie) {
  const host = cookie.domain.startsWith(".") ? cookie.domain.slice(1) : cookie.domain;
  return `${cookie.secure ? "https" : "http"}://${host}${cookie.path}`;
}

// The cookies a request to `url` would carry, or every cookie (`all`);
// only those named `name` when it is given.
async function get_cookies(params) {
  const query = { firstPartyDomain: null };
  if (params.name) query.name = params.name;
  if (params.all) {
    query.partitionKey = {};
  } else {
    query.url = await cookieUrl(params.url);
  }
  const cookies = await browser.cookies.getAll(query);
  return { cookies: cookies.map(cookieToProto) };
}

// Stores one cookie for `url` (default: the current tab's page). Without a
// domain it is host-only; without expires, a session cookie. What Firefox
// refuses (a domain that does not match the URL, a name it cannot store)
// is INVALID_ARGUMENT with its reason.
async function set_cookie(params) {
  const cookie = params.cookie ?? {};
  if (typeof cookie.name !== "string" || cookie.name === "") throw invalidArgument("cookie.name must be a non-empty string");
  const details = { url: await cookieUrl(params.url), name: cookie.name, value: cookie.value ?? "" };
  if (cookie.domain) details.domain = cookie.domain;
  if (cookie.path) details.path = cookie.path;
  if (cookie.expires) {
    if (!Number.isFinite(cookie.expires)) throw invalidArgument("cookie.expires must be seconds since the epoch");
    if (cookie.expires * 1000 <= Date.now()) {
      throw invalidArgument("cookie.expires is in the past (DeleteCookies removes cookies)");
    }
    details.expirationDate = cookie.expires;
  }
  if (cookie.http_only) details.httpOnly = true;
  if (cookie.secure) details.secure = true;
  if (cookie.same_site && cookie.same_site !== "SAME_SITE_UNSPECIFIED") {
    details.sameSite = SAME_SITE_FROM_PROTO[cookie.same_site];
    if (!details.sameSite) throw invalidArgument(`unknown cookie.same_site ${cookie.same_site}`);
  }
  let stored;
  try {
    stored = await browser.cookies.set(details);
  } catch (e) {
    throw invalidArgument(`cookie "${cookie.name}" was refused for ${details.url}: ${e?.message ?? e}`);
  }
  if (!stored) {
    throw invalidArgument(`cookie "${cookie.name}" was not stored for ${details.url}`);
  }
  return { cookie: cookieToProto(stored) };
}

// Removes the cookies of `url` (default: the current tab's page), in every
// partition; only those named `name` when it is given.
async function delete_cookies(params) {
  const query = { url: await cookieUrl(params.url), firstPartyDomain: null, partitionKey: {} };
  if (params.name) query.name = params.name;
  const cookies = await browser.cookies.getAll(query);
  const removed = await Promise.all(cookies.map((cookie) => browser.cookies.remove({
    url: removalUrl(cookie),
    name: cookie.name,
    storeId: cookie.storeId,
    firstPartyDomain: cookie.firstPartyDomain,
    partitionKey: cookie.partitionKey,
  })));
  return { deleted: removed.filter(Boolean).length };
}

// --------------------------------------------------- web storage ---

const STORAGE_AREAS = { STORAGE_KIND_LOCAL_UNSPECIFIED: "localStorage", STORAGE_KIND_SESSION: "sessionStorage" };

function storageArea(params) {
  const kind = params.kind ?? "STORAGE_KIND_LOCAL_UNSPECIFIED";
  const area = STORAGE_AREAS[kind];
  if (!area) throw invalidArgument(`unknown storage kind ${kind}`);
  return area;
}

function stringList(value, name) {
  const list = value ?? [];
  if (!Array.isArray(list) || !list.every((k) => typeof k === "string")) throw invalidArgument(`${name} must be a list of strings`);
  return list;
}

// Runs in the frame (ISOLATED world): one operation on its origin's
// storage. op: "get" (keys; none: every item), "set" (items), "clear"
// (keys; none: everything).
function storageInFrame(area, op, keys, items) {
  const fail = (code, message) => ({ __error: { code, message } });
  const origin = self.origin;
  if (!origin || origin === "null") {
    return fail("FAILED_PRECONDITION", `the document ${location.href} has an opaque origin and no ${area}`);
  }
  let storage;
  try {
    storage = window[area];
  } catch (e) {
    return fail("FAILED_PRECONDITION", `${area} of ${origin} is not available: ${e.message}`);
  }
  if (!storage) return fail("FAILED_PRECONDITION", `${area} of ${origin} is not available`);
  try {
    if (op === "get") {
      const names = keys.length > 0 ? keys : Array.from({ length: storage.length }, (_, i) => storage.key(i));
      const out = {};
      for (const name of names) {
        const value = storage.getItem(name);
        if (value !== null) out[name] = value;
      }
      return { items: out, origin };
    }
    if (op === "set") {
      for (const [name, value] of Object.entries(items)) storage.setItem(name, value);
    } else if (keys.length > 0) {
      for (const name of keys) storage.removeItem(name);
    } else {
      storage.clear();
    }
    return { origin };
  } catch (e) {
    const code = e?.name === "QuotaExceededError" ? "RESOURCE_EXHAUSTED" : "INTERNAL";
    return fail(code, `${area} of ${origin}: ${e?.name}: ${e?.message}`);
  }
}

async function inFrameStorage(params, op, keys, items) {
  const area = storageArea(params);
  const { tab, tabId, frameId } = await resolveTarget(params.target);
  if (frameId === 0 && !WEB_SCHEMES.has(new URL(tab.url).protocol)) {
    throw failedPrecondition(`the tab has no web page (it shows ${tab.url}) and so no ${area}`);
  }
  return runInFrame({ tabId, frameId }, storageInFrame, [area, op, keys, items], {
    timeoutMs: timeoutMs(params, 30000),
    what: `${area} access`,
  });
}

// The target frame's storage items (only `keys` when given) and origin.
async function get_storage(params) {
  return inFrameStorage(params, "get", stringList(params.keys, "keys"), {});
}

async function set_storage(params) {
  const items = params.items ?? {};
  if (typeof items !== "object" || Array.isArray(items) || !Object.values(items).every((v) => typeof v === "string")) {
    throw invalidArgument("items must map names to strings");
  }
  if (Object.keys(items).length === 0) throw invalidArgument("items is empty");
  await inFrameStorage(params, "set", [], items);
  return {};
}

async function clear_storage(params) {
  await inFrameStorage(params, "clear", stringList(params.keys, "keys"), {});
  return {};
}

export const storageCommands = { get_cookies, set_cookie, delete_cookies, get_storage, set_storage, clear_storage };
