// Where a command runs: a tab of the window and a frame of that tab, and
// running a function there. Every handler that touches a page goes through
// runInFrame, so errors read alike: a tab or frame that is not there is
// NOT_FOUND, a page that refuses scripts is FAILED_PRECONDITION, a slow one
// DEADLINE_EXCEEDED.
import { CommandError, failedPrecondition, notFound, withTimeout } from "./errors.js";
import { activeTab } from "./tabs.js";

// The tab `tabId` names (0 or absent: the current tab).
export async function resolveTab(tabId) {
  if (!tabId) return activeTab();
  try {
    return await browser.tabs.get(tabId);
  } catch {
    throw notFound(`the window has no tab ${tabId}`);
  }
}

// Runs in every frame: what identifies it besides Firefox's frame id.
function describeFrame() {
  let index = -1;
  try {
    if (window.parent !== window) index = Array.prototype.indexOf.call(window.parent.frames, window);
  } catch {
    index = -1;
  }
  let name = "";
  try {
    name = window.name;
  } catch {
    name = "";
  }
  return { name, index, topChild: window.parent === window.top && window.parent !== window };
}

// Every frame of `tabId`: webNavigation's list joined with each frame's
// name and position. Top frame first, then document order where known.
export async function listFrames(tabId) {
  const frames = (await browser.webNavigation.getAllFrames({ tabId })) ?? [];
  let described = [];
  try {
    described = await browser.scripting.executeScript({
      target: { tabId, allFrames: true },
      func: describeFrame,
      injectImmediately: true,
    });
  } catch {
    described = [];  // A privileged page: ids and URLs only.
  }
  const byId = new Map(described.map((d) => [d.frameId, d.result ?? {}]));
  const out = frames.map((f) => ({
    frame_id: f.frameId,
    parent_frame_id: f.parentFrameId,
    url: f.url ?? "",
    name: byId.get(f.frameId)?.name ?? "",
    index: byId.get(f.frameId)?.index ?? -1,
    top_child: byId.get(f.frameId)?.topChild ?? false,
  }));
  out.sort((a, b) => (a.frame_id === 0 ? -1 : b.frame_id === 0 ? 1 : a.index - b.index));
  return out;
}

// `target` is the proto's Target as JSON ({tab_id, frame: {frame_id |
// index | name | url}}); returns {tab, tabId, frameId}.
export async function resolveTarget(target) {
  const tab = await resolveTab(target?.tab_id);
  const frame = target?.frame;
  if (!frame || Object.keys(frame).length === 0) return { tab, tabId: tab.id, frameId: 0 };
  const frames = await listFrames(tab.id);
  let match;
  let what;
  if (frame.frame_id !== undefined) {
    // An int64: proto JSON sends it as a string.
    const frameId = Number(frame.frame_id);
    what = `frame id ${frameId}`;
    match = frames.find((f) => f.frame_id === frameId);
  } else if (frame.index !== undefined) {
    what = `frame index ${frame.index}`;
    match = frames.find((f) => f.top_child && f.index === frame.index);
  } else if (frame.name !== undefined) {
    what = `frame named "${frame.name}"`;
    match = frames.find((f) => f.frame_id !== 0 && f.name === frame.name);
  } else if (frame.url !== undefined) {
    what = `frame whose URL contains "${frame.url}"`;
    match = frames.find((f) => f.frame_id !== 0 && f.url.includes(frame.url));
  }
  if (!match) throw notFound(`no ${what ?? "such frame"} in tab ${tab.id}`);
  return { tab, tabId: tab.id, frameId: match.frame_id };
}

// Runs `func(...args)` in one frame and returns its result. `world` is
// "ISOLATED" (the extension's content-script world, where page/*.js live)
// or "MAIN" (the page's own). A func that wants to fail precisely returns
// {__error: {code, message}}; anything else it returns is the result.
//
// Firefox refuses scripts with "Missing host permission" in a frame caught
// between two documents (just after a navigation commits, as after a click
// on a link, or while a tab is loading its next page), as it does on pages
// no extension may script (about:config).
// The first kind is asked again, after a short back-off, until the time is
// up; the second fails at once.
export async function runInFrame(where, func, args = [], options = {}) {
  const { timeoutMs = 30000 } = options;
  const deadline = Date.now() + timeoutMs;
  for (let backoff = 25; ; backoff = Math.min(backoff * 2, 400)) {
    try {
      return await runOnce(where, func, args, { ...options, timeoutMs: Math.max(1, deadline - Date.now()) });
    } catch (e) {
      if (Date.now() + backoff >= deadline || !(await betweenDocuments(e, where))) throw e;
    }
    await new Promise((resolve) => setTimeout(resolve, backoff));
  }
}

// A blank top-level page is never scriptable; a blank frame inside a page
// is (it belongs to its parent's origin).
const SCRIPTABLE_URL = /^(https?:|file:|data:|blob:)/;
const SCRIPTABLE_IN_FRAMES = /^about:(blank|srcdoc)/;

async function betweenDocuments(error, { tabId, frameId = 0 }) {
  if (!(error instanceof CommandError) || !/Missing host permission/.test(error.message)) return false;
  const frame = await browser.webNavigation.getFrame({ tabId, frameId }).catch(() => null);
  const url = frame?.url ?? "";
  if (SCRIPTABLE_URL.test(url) || (frameId !== 0 && SCRIPTABLE_IN_FRAMES.test(url))) return true;
  // Mid-navigation Firefox may report no frame, or the blank document that
  // stands in until the response arrives: a loading tab is worth asking again.
  const tab = await browser.tabs.get(tabId).catch(() => null);
  return tab?.status === "loading";
}

async function runOnce({ tabId, frameId = 0 }, func, args, options) {
  const { world = "ISOLATED", timeoutMs, what = "the page" } = options;
  const run = browser.scripting.executeScript({
    target: { tabId, frameIds: [frameId] },
    world,
    func,
    args,
    injectImmediately: true,
  });
  let injection;
  try {
    [injection] = await withTimeout(run, timeoutMs, what);
  } catch (e) {
    if (e instanceof CommandError) throw e;
    throw failedPrecondition(`cannot run script in tab ${tabId} frame ${frameId}: ${e?.message ?? e}`);
  }
  if (!injection) throw notFound(`tab ${tabId} has no frame ${frameId}`);
  if (injection.error) {
    throw failedPrecondition(`script failed in tab ${tabId} frame ${frameId}: ${injection.error?.message ?? injection.error}`);
  }
  const result = injection.result;
  if (result && typeof result === "object" && result.__error) {
    throw new CommandError(result.__error.code ?? "INTERNAL", result.__error.message ?? "failed");
  }
  return result;
}
