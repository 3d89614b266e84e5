// Element commands: find, wait for, inspect and act on elements. The work
// happens in the page, in the content-script world, where page/elements.js
// keeps each document's element registry; this module resolves where an
// element lives (tab and frame, from the target or from the element id) and
// turns the page's answers into the proto's messages.
//
// Events are dispatched by script, so pages see isTrusted == false and CSS
// :hover / :active do not apply (Firefox gives extensions no trusted input).
import { emit } from "../events.js";
import { CommandError, failedPrecondition, invalidArgument } from "../errors.js";
import { durationJson, durationMs, timeoutMs } from "../params.js";
import { resolveTab, resolveTarget, runInFrame } from "../target.js";

const DEFAULT_TIMEOUT_MS = 30000;
const DEFAULT_WAIT_MS = 30000;
const DEFAULT_LIMIT = 1000;

const STRATEGIES = new Map([
  ["LOCATOR_STRATEGY_CSS_UNSPECIFIED", "css"],
  ["LOCATOR_STRATEGY_XPATH", "xpath"],
  ["LOCATOR_STRATEGY_TEXT", "text"],
  ["LOCATOR_STRATEGY_PARTIAL_TEXT", "partial text"],
]);

const STATES = new Map([
  ["ELEMENT_STATE_ATTACHED_UNSPECIFIED", "attached"],
  ["ELEMENT_STATE_VISIBLE", "visible"],
  ["ELEMENT_STATE_HIDDEN", "hidden"],
  ["ELEMENT_STATE_DETACHED", "detached"],
]);

const BUTTONS = new Map([
  ["MOUSE_BUTTON_LEFT_UNSPECIFIED", "left"],
  ["MOUSE_BUTTON_MIDDLE", "middle"],
  ["MOUSE_BUTTON_RIGHT", "right"],
]);

const MODIFIERS = new Map([
  ["MODIFIER_SHIFT", "shift"],
  ["MODIFIER_CONTROL", "control"],
  ["MODIFIER_ALT", "alt"],
  ["MODIFIER_META", "meta"],
]);

// Key names press_key knows besides single characters.
const NAMED_KEYS = new Set([
  "Enter", "Tab", "Backspace", "Delete", "Escape", "Insert", "ArrowLeft", "ArrowUp", "ArrowRight", "ArrowDown",
  "Home", "End", "PageUp", "PageDown", "Shift", "Control", "Alt", "Meta", "CapsLock", "ContextMenu",
  ...Array.from({ length: 12 }, (_, i) => `F${i + 1}`),
]);

// "<tabId>.<frameId>.<document generation>.<n>", made by page/elements.js.
const ELEMENT_ID = /^(\d+)\.(\d+)\.([0-9a-z]+)\.(\d+)$/;

// ---------------------------------------------------------------- params ---

function parseLocator(locator) {
  if (!locator || typeof locator !== "object") throw invalidArgument("locator is required");
  const strategy = STRATEGIES.get(locator.strategy ?? "LOCATOR_STRATEGY_CSS_UNSPECIFIED");
  if (!strategy) throw invalidArgument(`unknown locator strategy ${locator.strategy}`);
  if (typeof locator.value !== "string" || locator.value === "") {
    throw invalidArgument("locator.value must be a non-empty string");
  }
  return { strategy, value: locator.value };
}

function enumValue(table, raw, fallback, field) {
  const value = table.get(raw ?? fallback);
  if (value === undefined) throw invalidArgument(`unknown ${field} ${raw}`);
  return value;
}

function parseModifiers(raw) {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw invalidArgument("modifiers must be a list");
  return raw.map((m) => enumValue(MODIFIERS, m, undefined, "modifier"));
}

async function frameExists(tabId, frameId) {
  const frame = await browser.webNavigation.getFrame({ tabId, frameId }).catch(() => null);
  return Boolean(frame);
}

function staleElement(id, why) {
  return failedPrecondition(`stale element ${id}: ${why}`);
}

// Where an ElementTarget's element lives: {tabId, frameId, spec}, spec being
// what page/elements.js resolves ({id}, {locator} or {focused}). An id
// names its tab and frame; a locator runs in the target's frame.
async function locate(elementTarget, { allowFocused = false } = {}) {
  if (elementTarget !== undefined && (elementTarget === null || typeof elementTarget !== "object")) {
    throw invalidArgument("element must be an ElementTarget");
  }
  const id = elementTarget?.element_id;
  if (id !== undefined) {
    const match = typeof id === "string" ? ELEMENT_ID.exec(id) : null;
    if (!match) throw invalidArgument(`not an element id: ${JSON.stringify(id)}`);
    const tabId = Number(match[1]);
    const frameId = Number(match[2]);
    try {
      await resolveTab(tabId);
    } catch {
      throw staleElement(id, `tab ${tabId} is closed`);
    }
    if (!(await frameExists(tabId, frameId))) throw staleElement(id, `frame ${frameId} of tab ${tabId} is gone`);
    return { tabId, frameId, spec: { id } };
  }
  const where = await resolveTarget(elementTarget?.target);
  if (elementTarget?.locator !== undefined) {
    return { tabId: where.tabId, frameId: where.frameId, spec: { locator: parseLocator(elementTarget.locator) } };
  }
  if (allowFocused) return { tabId: where.tabId, frameId: where.frameId, spec: { focused: true } };
  throw invalidArgument("element needs a locator or an element_id");
}

// ------------------------------------------------------------- page calls ---

// Runs in the page's content-script world: hands the call to the library
// page/elements.js defined there, or says it is missing.
function callElementLibrary(op, context, args) {
  const library = globalThis.__foxpoolElements;
  return library ? library.call(op, context, args) : { __missing: true };
}

// When a call must have answered: a little before the time the server gave,
// so that the extension's precise error reaches it first.
function deadlineFor(params) {
  const budget = timeoutMs(params, DEFAULT_TIMEOUT_MS);
  return Date.now() + budget - Math.min(250, budget / 10);
}

// Tells when a frame commits its next document, while a wait runs in it.
class FrameWatch {
  constructor(tabId, frameId) {
    this.waiting = new Set();
    this.committed = (details) => {
      if (details.tabId === tabId && details.frameId === frameId) this.fire();
    };
    browser.webNavigation.onCommitted.addListener(this.committed);
  }

  fire() {
    const due = [...this.waiting];
    this.waiting.clear();
    for (const resolve of due) resolve();
  }

  // Resolves when the frame commits its next document (or the watch stops).
  nextDocument() {
    return new Promise((resolve) => this.waiting.add(resolve));
  }

  stop() {
    browser.webNavigation.onCommitted.removeListener(this.committed);
    this.fire();
  }
}

// Runs the library call (runInFrame asks a frame between two documents
// again until the deadline).
function runLibrary(where, callArgs, deadline, what) {
  const timeout = Math.max(1, deadline - Date.now());
  return runInFrame(where, callElementLibrary, callArgs, { world: "ISOLATED", timeoutMs: timeout, what });
}

// Calls `op` of page/elements.js in one frame. A frame that has no library
// yet (loaded before the extension, or a privileged page that refused the
// content script) gets it injected once.
async function callPage({ tabId, frameId, spec }, op, args, deadline) {
  const where = { tabId, frameId };
  const what = `${op.replace(/_/g, " ")} in tab ${tabId} frame ${frameId}`;
  const callArgs = [op, where, { element: spec, ...args }];
  try {
    let result = await runLibrary(where, callArgs, deadline, what);
    if (result?.__missing) {
      await browser.scripting.executeScript({
        target: { tabId, frameIds: [frameId] },
        files: ["/page/elements.js"],
        injectImmediately: true,
      });
      result = await runLibrary(where, callArgs, deadline, what);
    }
    if (result?.__missing) throw failedPrecondition(`the element library cannot run in tab ${tabId} frame ${frameId}`);
    return result;
  } catch (e) {
    // The element's frame went away (before or during the call: Firefox
    // then reports "Invalid frame IDs").
    if (spec?.id && e instanceof CommandError && (/Invalid frame ID|has no frame/.test(e.message) || !(await frameExists(tabId, frameId)))) {
      throw staleElement(spec.id, `frame ${frameId} of tab ${tabId} is gone`);
    }
    throw e;
  }
}

// --------------------------------------------------------------- helpers ---

// The element an ElementTarget names, as ElementInfo, with where it lives.
// Throws NOT_FOUND (naming the locator), FAILED_PRECONDITION "stale element"
// or INVALID_ARGUMENT. Used by other command families (capture, text).
export async function inspectElement(elementTarget, { timeoutMs: ms = DEFAULT_TIMEOUT_MS } = {}) {
  const deadline = deadlineFor({ timeout_ms: ms });
  const where = await locate(elementTarget);
  const { element } = await callPage(where, "inspect", {}, deadline);
  return { tabId: where.tabId, frameId: where.frameId, info: element };
}

// Runs an element action and returns the ElementActionResponse.
async function act(params, op, args = {}, options = {}) {
  const deadline = deadlineFor(params);
  const where = await locate(params.element, options);
  const result = await callPage(where, op, args, deadline);
  return { element: result.element };
}

// -------------------------------------------------------------- handlers ---

// find_element: the first match of a locator; NOT_FOUND when none.
async function findElement(params) {
  const deadline = deadlineFor(params);
  const where = await resolveTarget(params.target);
  const locator = parseLocator(params.locator);
  const { element } = await callPage({ ...where, spec: { locator } }, "inspect", {}, deadline);
  return { element };
}

// find_elements: every match, in document order, up to `limit`.
async function findElements(params) {
  const deadline = deadlineFor(params);
  const where = await resolveTarget(params.target);
  const locator = parseLocator(params.locator);
  const limit = params.limit ?? 0;
  if (!Number.isInteger(limit) || limit < 0) throw invalidArgument("limit must not be negative");
  const { elements } = await callPage({ ...where, spec: null }, "find_all", { locator, limit: limit || DEFAULT_LIMIT }, deadline);
  return { elements };
}

// get_element: ElementInfo plus the requested DOM properties as JSON.
async function getElement(params) {
  const properties = params.properties ?? [];
  if (!Array.isArray(properties) || properties.some((p) => typeof p !== "string" || p === "")) {
    throw invalidArgument("properties must be non-empty names");
  }
  const deadline = deadlineFor(params);
  const where = await locate(params.element);
  const result = await callPage(where, "get", { properties }, deadline);
  return { element: result.element, properties: result.properties };
}

// wait_for_element: waits in the page (a MutationObserver) until a match of
// the locator reaches the state. A navigation of the frame starts the wait
// again in the new document. The page's own wait ends a little before the
// command's time is up, so its DEADLINE_EXCEEDED says what it waited for.
async function waitForElement(params) {
  const started = Date.now();
  const where = await resolveTarget(params.target);
  const locator = parseLocator(params.locator);
  const state = enumValue(STATES, params.state, "ELEMENT_STATE_ATTACHED_UNSPECIFIED", "state");
  const requested = durationMs(params, "timeout", DEFAULT_WAIT_MS);
  const budget = timeoutMs(params, requested + 1000);
  const margin = Math.min(250, budget / 10);
  const deadline = started + budget - margin;
  const waitEnd = Math.min(started + requested, deadline - margin);
  const watch = new FrameWatch(where.tabId, where.frameId);
  try {
    for (;;) {
      const replaced = watch.nextDocument().then(() => null);
      const args = { locator, state, ms: Math.max(0, waitEnd - Date.now()), total: Math.max(0, waitEnd - started) };
      const attempt = callPage({ ...where, spec: null }, "wait", args, deadline).then((result) => ({ result }));
      attempt.catch(() => {});  // Abandoned when the document is replaced first.
      const outcome = await Promise.race([attempt, replaced]);
      if (!outcome) continue;
      const { result } = outcome;
      if (state === "attached" || state === "visible") {
        emit({
          kind: "KIND_ELEMENT_APPEARED",
          tab_id: where.tabId,
          frame_id: where.frameId,
          url: result.url ?? "",
          text: `${locator.strategy} ${locator.value}`,
        });
      }
      return { ...(result.element ? { element: result.element } : {}), waited: durationJson(Date.now() - started) };
    }
  } finally {
    watch.stop();
  }
}

// click: scrolls into view, checks it is visible and enabled, then the
// pointer/mouse/click sequence at its centre (activation included: links
// navigate, checkboxes toggle, submit buttons submit).
async function click(params) {
  const button = enumValue(BUTTONS, params.button, "MOUSE_BUTTON_LEFT_UNSPECIFIED", "button");
  const count = params.click_count ?? 1;
  if (!Number.isInteger(count) || count < 0 || count > 3) throw invalidArgument("click_count must be 0 to 3");
  return act(params, "click", { button, count: count || 1, modifiers: parseModifiers(params.modifiers) });
}

// type_text: focuses and types one character at a time.
async function typeText(params) {
  const text = params.text ?? "";
  if (typeof text !== "string") throw invalidArgument("text must be a string");
  return act(params, "type", { text, clear: params.clear === true });
}

// press_key: one key on the element, or on whatever has focus.
async function pressKey(params) {
  const key = params.key;
  if (typeof key !== "string" || (Array.from(key).length !== 1 && !NAMED_KEYS.has(key))) {
    throw invalidArgument(`unknown key ${JSON.stringify(key)} (a character, or a name like Enter, Tab, ArrowDown, Escape, F5)`);
  }
  return act(params, "press", { key, modifiers: parseModifiers(params.modifiers) }, { allowFocused: true });
}

async function focus(params) {
  return act(params, "focus");
}

// hover: pointer and mouse over/enter/move at the element's centre.
async function hover(params) {
  return act(params, "hover");
}

async function scrollIntoView(params) {
  return act(params, "scroll_into_view");
}

// select_option: selects options of a <select> by value, else by label.
async function selectOption(params) {
  const values = params.values ?? [];
  if (!Array.isArray(values) || values.some((v) => typeof v !== "string")) {
    throw invalidArgument("values must be strings");
  }
  const deadline = deadlineFor(params);
  const where = await locate(params.element);
  const result = await callPage(where, "select", { values }, deadline);
  return { selected: result.selected };
}

// set_checked: clicks a checkbox or radio button if its state differs.
async function setChecked(params) {
  return act(params, "set_checked", { checked: params.checked === true });
}

// upload_file: sets an <input type=file>'s files from the caller's bytes.
async function uploadFile(params) {
  const files = params.files ?? [];
  if (!Array.isArray(files)) throw invalidArgument("files must be a list");
  const checked = files.map((file, i) => {
    if (typeof file?.name !== "string" || file.name === "") throw invalidArgument(`files[${i}].name must be non-empty`);
    const content = file.content ?? "";
    try {
      atob(content);
    } catch {
      throw invalidArgument(`files[${i}].content is not base64`);
    }
    return { name: file.name, type: file.mime_type || "application/octet-stream", content };
  });
  return act(params, "upload", { files: checked });
}

export const elementCommands = {
  find_element: findElement,
  find_elements: findElements,
  get_element: getElement,
  wait_for_element: waitForElement,
  click,
  type_text: typeText,
  press_key: pressKey,
  focus,
  hover,
  scroll_into_view: scrollIntoView,
  select_option: selectOption,
  set_checked: setChecked,
  upload_file: uploadFile,
};
