// set_extra_headers and set_user_agent: headers added to or replaced in the
// page requests (through network_request_headers.js), and a registered
// content script that makes navigator.userAgent agree with the User-Agent
// header.
//
// Firefox limits: the content script reaches documents (every frame,
// about:blank ones included), not workers, so navigator.userAgent inside a
// Worker still reads Firefox's own; and requests the page makes through a
// service worker have no tab, so they keep Firefox's headers.
import { invalidArgument } from "./errors.js";
import { onReset } from "./lease_state.js";
import { setHeaderSource } from "./network_request_headers.js";

// RFC 7230 token: the characters a header name may have.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// A field value may not break the header block.
const BAD_VALUE = /[\r\n\0]/;

let userAgentScript = null; // The registered content script, if any.

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
  const out = [];
  for (const [name, value] of Object.entries(headers)) {
    checkHeader(name, value);
    out.push({ name, value });
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

// Replaces the extra headers ([{name, value}]; empty: none).
export function applyHeaders(headers) {
  setHeaderSource("extra headers", headers.length > 0 ? () => headers : null);
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
  const header = [{ name: "User-Agent", value }];
  setHeaderSource("user agent", value ? () => header : null);
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

onReset("network extra headers", () => applyHeaders([]));
onReset("network user agent", () => applyUserAgent(""));
