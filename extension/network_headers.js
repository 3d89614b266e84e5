// set_extra_headers and set_user_agent: one blocking
// webRequest.onBeforeSendHeaders listener adds or replaces headers in the
// page requests, and a registered content script makes navigator.userAgent
// agree with the User-Agent header.
//
// Firefox limits: the content script reaches documents (every frame,
// about:blank ones included), not workers, so navigator.userAgent inside a
// Worker still reads Firefox's own; and requests the page makes through a
// service worker have no tab, so they keep Firefox's headers.
import { invalidArgument } from "./errors.js";
import { onReset } from "./lease_state.js";
import { isPageRequest } from "./network_scope.js";

// RFC 7230 token: the characters a header name may have.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// A field value may not break the header block.
const BAD_VALUE = /[\r\n\0]/;

let extraHeaders = new Map();  // lower-case name → {name, value}
let userAgent = "";
let userAgentScript = null;    // The registered content script, if any.

function checkHeader(name, value) {
  if (!TOKEN.test(name)) throw invalidArgument(`header name ${JSON.stringify(name)} is not a token (RFC 7230)`);
  if (typeof value !== "string" || BAD_VALUE.test(value)) {
    throw invalidArgument(`the value of header ${name} may not contain CR, LF or NUL`);
  }
}

// Validates the request's header map.
export function parseHeaders(params) {
  const headers = params?.headers ?? {};
  if (typeof headers !== "object" || Array.isArray(headers)) throw invalidArgument("headers must be a map");
  const out = new Map();
  for (const [name, value] of Object.entries(headers)) {
    checkHeader(name, value);
    out.set(name.toLowerCase(), { name, value });
  }
  return out;
}

export function parseUserAgent(params) {
  const value = params?.user_agent ?? "";
  if (typeof value !== "string" || BAD_VALUE.test(value)) {
    throw invalidArgument("user_agent must be a string without CR, LF or NUL");
  }
  return value;
}

function rewriteHeaders(details) {
  if (!isPageRequest(details)) return {};
  const overrides = new Map(extraHeaders);
  if (userAgent) overrides.set("user-agent", { name: "User-Agent", value: userAgent });
  const kept = details.requestHeaders.filter((h) => !overrides.has(h.name.toLowerCase()));
  return { requestHeaders: [...kept, ...overrides.values()] };
}

function updateListener() {
  const wanted = extraHeaders.size > 0 || userAgent !== "";
  const listening = browser.webRequest.onBeforeSendHeaders.hasListener(rewriteHeaders);
  if (wanted && !listening) {
    browser.webRequest.onBeforeSendHeaders.addListener(rewriteHeaders, { urls: ["<all_urls>"] }, [
      "blocking",
      "requestHeaders",
    ]);
  } else if (!wanted && listening) {
    browser.webRequest.onBeforeSendHeaders.removeListener(rewriteHeaders);
  }
}

export function applyHeaders(headers) {
  extraHeaders = headers;
  updateListener();
}

// The content script's source. It runs in the extension's sandbox at
// document_start, before any page script, and replaces the page's
// Navigator.prototype.userAgent getter through Firefox's Xray waiver.
function navigatorScript(value) {
  return `(() => {
  const agent = ${JSON.stringify(value)};
  const page = window.wrappedJSObject;
  Object.defineProperty(page.Navigator.prototype, "userAgent", {
    get: exportFunction(function () { return agent; }, window),
    configurable: true,
    enumerable: true,
  });
})();`;
}

async function replaceUserAgent(value) {
  const previous = userAgentScript;
  userAgentScript = null;
  userAgent = value;
  updateListener();
  if (previous) await previous.unregister();
  if (value) {
    userAgentScript = await browser.contentScripts.register({
      matches: ["<all_urls>"],
      js: [{ code: navigatorScript(value) }],
      runAt: "document_start",
      allFrames: true,
      matchAboutBlank: true,
    });
  }
}

// One change at a time: a register still in flight must not outlive the
// change that replaces it.
let userAgentChange = Promise.resolve();

export function applyUserAgent(value) {
  const change = userAgentChange.then(() => replaceUserAgent(value));
  userAgentChange = change.catch(() => {});
  return change;
}

onReset("network extra headers", () => applyHeaders(new Map()));
onReset("network user agent", () => applyUserAgent(""));
