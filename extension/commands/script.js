// evaluate: JavaScript in a frame's own realm, with JSON arguments and a
// JSON result. add_preload_script / remove_preload_script: JavaScript that
// runs in the page's realm before the page's own scripts, in every document
// loaded from then on, until removed or the lease ends.
//
// How preload scripts get there (Firefox 153, Manifest V2): a dynamically
// registered content script (contentScripts.register, document_start, every
// frame) inserts one inline <script> per preload script, which runs in the
// page's realm at once, before the parser has reached any of the page's
// own scripts. scripting.registerContentScripts could run in the MAIN world
// directly but takes only files packaged with the extension, and eval from
// the content script is the page's eval, which a Content-Security-Policy
// without 'unsafe-eval' refuses. An inline script is refused too by a policy
// without 'unsafe-inline', so while preload scripts exist, the policy
// headers of documents are given the scripts' SHA-256 hashes (only those
// exact scripts become allowed; a policy that already allows inline scripts
// is left alone). A <meta> policy is not parsed yet at document_start and
// does not apply to them.
import { invalidArgument, notFound } from "../errors.js";
import { onReset } from "../lease_state.js";
import { requireString, timeoutMs } from "../params.js";
import { resolveTarget, runInFrame } from "../target.js";

const MAX_SOURCE_BYTES = 1 << 20;

// Results travel in one hub frame (firefox/hub.h max_frame_bytes, 64 MiB)
// as a JSON string inside JSON; 16 Mi UTF-16 units stay below it even when
// each takes 3 bytes of UTF-8.
const MAX_RESULT_CHARS = 16 << 20;

function requireSource(params, name) {
  const source = requireString(params, name);
  if (new TextEncoder().encode(source).length > MAX_SOURCE_BYTES) {
    throw invalidArgument(`${name} is longer than ${MAX_SOURCE_BYTES} bytes`);
  }
  return source;
}

// `args`: the server sends the parsed array; `args_json` is accepted too.
function evaluateArgs(params) {
  if (params.args !== undefined) {
    if (!Array.isArray(params.args)) throw invalidArgument("args must be a JSON array");
    return params.args;
  }
  if (!params.args_json) return [];
  let args;
  try {
    args = JSON.parse(params.args_json);
  } catch (e) {
    throw invalidArgument(`args_json is not JSON: ${e.message}`);
  }
  if (!Array.isArray(args)) throw invalidArgument("args_json must be a JSON array");
  return args;
}

// Runs in the frame's page realm (world MAIN), so it may use nothing from
// this module. The source is an expression, a statement list, or a function
// called with `args`; a promise is awaited. Parsing is checked first with
// the Function constructor (which does not run anything), so that a syntax
// error is told apart from a SyntaxError the script throws while running.
async function evaluateInPage(source, args, maxChars) {
  const Parse = (function () {}).constructor;  // Whatever the page did to window.Function.
  const fail = (code, message) => ({ __error: { code, message } });
  const thrown = (e) => {
    const head = e instanceof Error || (e && typeof e === "object" && "message" in e)
      ? `${e.name ?? "Error"}: ${e.message}`
      : `Uncaught ${typeof e === "string" ? e : String(e)}`;
    const stack = e?.stack ? `\n${e.stack}` : "";
    return fail("UNKNOWN", `${head}${stack}`);
  };
  let text;
  try {
    try {
      Parse(`return (${source}\n)`);
      text = `(${source}\n)`;
    } catch (e) {
      if (!(e instanceof SyntaxError)) throw e;
      Parse(source);
      text = source;
    }
  } catch (e) {
    // The Function constructor itself refused: the page's
    // Content-Security-Policy forbids evaluating strings.
    if (e instanceof EvalError) {
      return fail("FAILED_PRECONDITION", `the page's Content-Security-Policy forbids evaluating scripts: ${e.message}`);
    }
    return fail("INVALID_ARGUMENT", `${e.name}: ${e.message}`);
  }
  let value;
  try {
    const compiled = (0, eval)(text);
    value = typeof compiled === "function" ? await compiled(...args) : await compiled;
  } catch (e) {
    return thrown(e);
  }
  if (value === undefined) return { json: "null" };
  let json;
  try {
    json = JSON.stringify(value, (key, v) => {
      if (typeof v === "function" || typeof v === "symbol") throw new TypeError(`${key || "the value"} is a ${typeof v}`);
      if (typeof Node !== "undefined" && v instanceof Node) throw new TypeError(`${key || "the value"} is a DOM node`);
      if (typeof Window !== "undefined" && v instanceof Window) throw new TypeError(`${key || "the value"} is a window`);
      return v;
    });
  } catch (e) {
    return fail("INVALID_ARGUMENT", `the result cannot be expressed as JSON: ${e.message}`);
  }
  if (json.length > maxChars) {
    return fail("RESOURCE_EXHAUSTED", `the result is ${json.length} characters of JSON; the limit is ${maxChars}`);
  }
  return { json };
}

// Evaluates `expression` in the target frame's page realm (its globals
// visible); errors: UNKNOWN for what the script throws (message and stack),
// INVALID_ARGUMENT for a syntax error or a result JSON cannot express,
// FAILED_PRECONDITION where the page forbids eval or runs no scripts.
async function evaluate(params) {
  const source = requireSource(params, "expression");
  const args = evaluateArgs(params);
  const ms = timeoutMs(params, 30000);
  const { tabId, frameId } = await resolveTarget(params.target);
  const outcome = await runInFrame({ tabId, frameId }, evaluateInPage, [source, args, MAX_RESULT_CHARS], {
    world: "MAIN",
    timeoutMs: ms,
    what: "the script",
  });
  return { result_json: outcome.json };
}

// ------------------------------------------------------ preload scripts ---

const preloads = new Map();  // script id → {source, topFrameOnly, hash}
let registration = null;
let updating = Promise.resolve();

// Runs as the registered content script (ISOLATED world) of every new
// document; `scripts` is [{source, topFrameOnly}] in the order added.
function injectPreloads(scripts) {
  const isTop = window === window.top;
  for (const { source, topFrameOnly } of scripts) {
    if (topFrameOnly && !isTop) continue;
    const script = document.createElementNS("http://www.w3.org/1999/xhtml", "script");
    script.textContent = source;
    (document.documentElement ?? document).appendChild(script);
    script.remove();
  }
}

async function sha256Source(source) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(source));
  return `'sha256-${btoa(String.fromCharCode(...new Uint8Array(digest)))}'`;
}

// Allows the preload scripts in one policy (a header may hold several,
// comma-separated): their hashes join the directive that governs inline
// script elements (script-src-elem, else script-src, else default-src).
function allowInPolicy(policy, hashes) {
  const directives = policy.split(";");
  const names = directives.map((d) => d.trim().split(/\s+/)[0].toLowerCase());
  for (const name of ["script-src-elem", "script-src", "default-src"]) {
    const at = names.indexOf(name);
    if (at < 0) continue;
    const indent = /^\s*/.exec(directives[at])[0];
    const [directive, ...sources] = directives[at].trim().split(/\s+/);
    const lower = sources.map((s) => s.toLowerCase());
    const hashesOrNonces = lower.some((s) => /^'(nonce-|sha\d+-|strict-dynamic')/.test(s));
    // A hash would switch 'unsafe-inline' off; it is not needed there.
    if (lower.includes("'unsafe-inline'") && !hashesOrNonces) return policy;
    const kept = sources.filter((s) => s.toLowerCase() !== "'none'");
    directives[at] = `${indent}${[directive, ...kept, ...hashes].join(" ")}`;
    return directives.join(";");
  }
  return policy;  // No directive restricts scripts.
}

// Report-only policies too: they would report the preload scripts to the
// site.
const CSP_HEADERS = new Set(["content-security-policy", "content-security-policy-report-only"]);

// webRequest.onHeadersReceived (blocking) for documents and frames.
function allowPreloadsInCsp(details) {
  const hashes = [...preloads.values()].map((p) => p.hash);
  let changed = false;
  const responseHeaders = details.responseHeaders.map((header) => {
    if (!CSP_HEADERS.has(header.name.toLowerCase()) || !header.value) return header;
    const value = header.value.split(",").map((policy) => allowInPolicy(policy, hashes)).join(",");
    changed ||= value !== header.value;
    return { name: header.name, value };
  });
  return changed ? { responseHeaders } : {};
}

// Makes the registered content script and the CSP listener match
// `preloads`. Runs one at a time.
function syncPreloads() {
  updating = updating.catch(() => {}).then(async () => {
    const previous = registration;
    registration = null;
    await previous?.unregister();
    const event = browser.webRequest.onHeadersReceived;
    if (preloads.size === 0) {
      event.removeListener(allowPreloadsInCsp);
      return;
    }
    const scripts = [...preloads.values()].map(({ source, topFrameOnly }) => ({ source, topFrameOnly }));
    registration = await browser.contentScripts.register({
      matches: ["<all_urls>"],
      js: [{ code: `(${injectPreloads})(${JSON.stringify(scripts)});` }],
      runAt: "document_start",
      allFrames: true,
      matchAboutBlank: true,
    });
    if (!event.hasListener(allowPreloadsInCsp)) {
      event.addListener(allowPreloadsInCsp, { urls: ["<all_urls>"], types: ["main_frame", "sub_frame"] }, [
        "blocking",
        "responseHeaders",
      ]);
    }
  });
  return updating;
}

// Adds a preload script for documents loaded from now on (not the current
// one); every frame unless `top_frame_only`.
async function add_preload_script(params) {
  const source = requireSource(params, "source");
  const scriptId = crypto.randomUUID();
  preloads.set(scriptId, { source, topFrameOnly: params.top_frame_only === true, hash: await sha256Source(source) });
  try {
    await syncPreloads();
  } catch (e) {
    preloads.delete(scriptId);
    await syncPreloads();
    throw e;
  }
  return { script_id: scriptId };
}

async function remove_preload_script(params) {
  const scriptId = requireString(params, "script_id");
  if (!preloads.delete(scriptId)) throw notFound(`no preload script ${scriptId}`);
  await syncPreloads();
  return {};
}

onReset("preload scripts", () => {
  preloads.clear();
  return syncPreloads();
});

export const scriptCommands = { evaluate, add_preload_script, remove_preload_script };
