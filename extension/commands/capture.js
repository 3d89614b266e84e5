// screenshot, get_text, set_viewport: what a tab looks like and reads as,
// and the size of the viewport it is drawn in.
import { CommandError, failedPrecondition, internal, invalidArgument, withTimeout } from "../errors.js";
import { onReset } from "../lease_state.js";
import { timeoutMs } from "../params.js";
import { activeTab } from "../tabs.js";
import { resolveTab, resolveTarget, runInFrame } from "../target.js";
import { elementCommands, inspectElement } from "./elements.js";

const DEFAULT_TIMEOUT_MS = 30000;
const FORMATS = new Map([
  ["IMAGE_FORMAT_PNG_UNSPECIFIED", "png"],
  ["IMAGE_FORMAT_JPEG", "jpeg"],
]);
const DEFAULT_JPEG_QUALITY = 90;
// A full-page (or element) capture is clamped to its top-left part of at
// most this size; the response's width and height say so. Beyond this a
// snapshot takes seconds and hundreds of MB of memory.
const MAX_CAPTURE_SIDE = 16384;
const MAX_CAPTURE_PIXELS = 40_000_000;
const MIN_VIEWPORT = 100;
const MAX_VIEWPORT = 8192;
// Resizing a window is asynchronous and reported by no event the
// background page sees: poll its viewport this often, this many times.
const RESIZE_POLL_MS = 20;
const RESIZE_POLLS = 100;
const RESIZE_ATTEMPTS = 4;

// {format: "png" | "jpeg", quality?} for tabs.captureTab, from the request.
function imageOptions(params) {
  const format = FORMATS.get(params.format ?? "IMAGE_FORMAT_PNG_UNSPECIFIED");
  if (!format) throw invalidArgument(`unsupported image format ${params.format}`);
  const quality = params.quality ?? 0;
  if (!Number.isInteger(quality) || quality < 0 || quality > 100) {
    throw invalidArgument(`quality must be 1 to 100 (0: ${DEFAULT_JPEG_QUALITY}), not ${quality}`);
  }
  if (format === "png") {
    if (quality) throw invalidArgument("quality applies to JPEG only");
    return { format };
  }
  return { format, quality: quality || DEFAULT_JPEG_QUALITY };
}

// Runs in the top frame: the document's scroll size (without scrollbars;
// the body's too, for quirks mode) and scroll position.
function measureDocument() {
  const root = document.documentElement;
  const body = document.body;
  return {
    width: Math.max(root?.scrollWidth ?? 0, body?.scrollWidth ?? 0),
    height: Math.max(root?.scrollHeight ?? 0, body?.scrollHeight ?? 0),
    scrollX: window.scrollX,
    scrollY: window.scrollY,
  };
}

// Runs in a parent frame: where the content box of the child frame
// `childFrameId` starts, relative to this frame's viewport.
function childFrameOrigin(childFrameId) {
  for (const element of document.querySelectorAll("iframe, frame, object, embed")) {
    let id;
    try {
      id = browser.runtime.getFrameId(element);
    } catch {
      continue;
    }
    if (id !== childFrameId) continue;
    const box = element.getBoundingClientRect();
    const style = getComputedStyle(element);
    return {
      x: box.left + element.clientLeft + parseFloat(style.paddingLeft || "0"),
      y: box.top + element.clientTop + parseFloat(style.paddingTop || "0"),
    };
  }
  return { __error: { code: "FAILED_PRECONDITION", message: `frame ${childFrameId} is not an element of its parent's document` } };
}

// Where frame `frameId`'s viewport starts in the top frame's viewport.
async function frameOrigin(tabId, frameId, ms) {
  let x = 0;
  let y = 0;
  for (let id = frameId; id !== 0;) {
    const frame = await browser.webNavigation.getFrame({ tabId, frameId: id });
    if (!frame) throw failedPrecondition(`frame ${id} of tab ${tabId} is gone`);
    const origin = await runInFrame({ tabId, frameId: frame.parentFrameId }, childFrameOrigin, [id], {
      timeoutMs: ms,
      what: "locating the element's frame",
    });
    x += origin.x;
    y += origin.y;
    id = frame.parentFrameId;
  }
  return { x, y };
}

// Integer document-pixel rectangle covering `rect`, clamped to the caps.
function captureRect(x, y, width, height) {
  const left = Math.max(0, Math.floor(x));
  const top = Math.max(0, Math.floor(y));
  const w = Math.min(Math.ceil(x + width) - left, MAX_CAPTURE_SIDE);
  const h = Math.min(Math.ceil(y + height) - top, MAX_CAPTURE_SIDE, Math.floor(MAX_CAPTURE_PIXELS / Math.max(w, 1)));
  return { x: left, y: top, width: w, height: h };
}

// The element's box in the top document's coordinates.
async function elementRect(element, ms) {
  const { tabId, frameId, info } = await inspectElement(element, { timeoutMs: ms });
  const rect = info.rect ?? {};
  const width = rect.width ?? 0;
  const height = rect.height ?? 0;
  if (width <= 0 || height <= 0) {
    throw failedPrecondition(`element ${info.element_id} has an empty box (${width}x${height}); nothing to capture`);
  }
  const origin = await frameOrigin(tabId, frameId, ms);
  const page = await runInFrame({ tabId }, measureDocument, [], { timeoutMs: ms, what: "measuring the page" });
  const rectangle = captureRect(page.scrollX + origin.x + (rect.x ?? 0), page.scrollY + origin.y + (rect.y ?? 0), width, height);
  return { tabId, rect: rectangle };
}

// The whole document of `tabId`'s top frame, from its top-left corner.
async function fullPageRect(tabId, ms) {
  const page = await runInFrame({ tabId }, measureDocument, [], { timeoutMs: ms, what: "measuring the page" });
  return captureRect(0, 0, page.width, page.height);
}

// Pixel size of a data: URL image, decoded here, so it is the size of the
// bytes the caller gets.
async function imageSize(dataUrl) {
  const blob = await (await fetch(dataUrl)).blob();
  const bitmap = await createImageBitmap(blob);
  try {
    return { width: bitmap.width, height: bitmap.height };
  } finally {
    bitmap.close();
  }
}

async function captureImage(params, options, ms) {
  let tabId;
  if (params.element) {
    const element = await elementRect(params.element, ms);
    tabId = element.tabId;
    options.rect = element.rect;
  } else {
    const tab = await resolveTab(params.tab_id);
    tabId = tab.id;
    if (params.full_page) {
      options.rect = await fullPageRect(tabId, ms);
    } else if (tab.url === "about:blank") {
      // Firefox draws a blank tab at the window's whole size; an explicit
      // rect keeps the image at the viewport's.
      options.rect = { x: 0, y: 0, width: tab.width, height: tab.height };
    }
  }
  let dataUrl;
  try {
    dataUrl = await browser.tabs.captureTab(tabId, options);
  } catch (e) {
    throw failedPrecondition(`cannot capture tab ${tabId}: ${e?.message ?? e}`);
  }
  const comma = dataUrl.indexOf(",");
  if (!dataUrl.startsWith(`data:image/${options.format};base64,`) || comma < 0) {
    throw internal(`Firefox returned an unexpected capture (${dataUrl.slice(0, 40)})`);
  }
  const { width, height } = await imageSize(dataUrl);
  const format = [...FORMATS].find(([, name]) => name === options.format)[0];
  return { image: dataUrl.slice(comma + 1), format, width, height };
}

// screenshot: the tab's viewport, its whole document (full_page), or one
// element's box, as PNG or JPEG. Firefox draws any rectangle of the
// document, visible or not, without scrolling the page. An element inside
// frames is offset by each frame's position; parts of it a frame clips
// are drawn as the document behind it.
async function screenshot(params) {
  const ms = timeoutMs(params, DEFAULT_TIMEOUT_MS);
  const options = imageOptions(params);
  if (params.element && params.full_page) throw invalidArgument("full_page and element exclude each other");
  if (params.element && params.tab_id) throw invalidArgument("an element's tab comes from its target; leave tab_id unset");
  return withTimeout(captureImage(params, options, ms), ms, "the screenshot");
}

// Runs in the target frame: the rendered text of the body.
function bodyText() {
  return (document.body ?? document.documentElement)?.innerText ?? "";
}

// get_text: the rendered text (innerText) of a frame's body, or of one
// element.
async function getText(params) {
  const ms = timeoutMs(params, DEFAULT_TIMEOUT_MS);
  if (params.element) {
    // The element library resolves it (NOT_FOUND, stale ids) and reads
    // both: SVG and MathML elements have no innerText.
    const { properties } = await elementCommands.get_element({
      element: params.element,
      properties: ["innerText", "textContent"],
      timeout_ms: ms,
    });
    const text = JSON.parse(properties.innerText ?? "null") ?? JSON.parse(properties.textContent ?? "null");
    return { text: text ?? "" };
  }
  const { tabId, frameId } = await resolveTarget(params.target);
  return { text: await runInFrame({ tabId, frameId }, bodyText, [], { timeoutMs: ms, what: "reading the page's text" }) };
}

function viewportSide(params, name) {
  const value = params[name] ?? 0;
  if (!Number.isInteger(value) || value < MIN_VIEWPORT || value > MAX_VIEWPORT) {
    throw invalidArgument(`${name} must be ${MIN_VIEWPORT} to ${MAX_VIEWPORT} CSS pixels, not ${value}`);
  }
  return value;
}

// Runs in the top frame: the viewport as the page sees it.
function innerSize() {
  return { width: window.innerWidth, height: window.innerHeight };
}

// The viewport of `tab`: the page's own innerWidth/innerHeight where a
// script may run, else the size of the tab's browser element (the same
// numbers at zoom 100%; about: pages take no scripts).
async function viewportOf(tabId, ms) {
  try {
    return await runInFrame({ tabId }, innerSize, [], { timeoutMs: ms, what: "measuring the viewport" });
  } catch (e) {
    if (!(e instanceof CommandError) || e.code !== "FAILED_PRECONDITION") throw e;
    const tab = await browser.tabs.get(tabId);
    return { width: tab.width, height: tab.height };
  }
}

// Resolves once the window's outer size is `width`x`height`, or after
// RESIZE_POLLS polls (Firefox may refuse a size; the caller re-measures).
async function windowResized(windowId, width, height) {
  for (let i = 0; i < RESIZE_POLLS; i++) {
    const win = await browser.windows.get(windowId);
    if (win.width === width && win.height === height) return;
    await new Promise((resolve) => setTimeout(resolve, RESIZE_POLL_MS));
  }
}

// Resolves once the tab's viewport stops changing across two polls.
async function viewportSettled(tabId, ms) {
  let last = await viewportOf(tabId, ms);
  for (let i = 0; i < RESIZE_POLLS; i++) {
    await new Promise((resolve) => setTimeout(resolve, RESIZE_POLL_MS));
    const now = await viewportOf(tabId, ms);
    if (now.width === last.width && now.height === last.height) return now;
    last = now;
  }
  return last;
}

// The window's outer size before a lease first resized it (the size the
// server launched it with); reset restores it.
let launchSize = null;

async function resizeViewport(width, height, ms) {
  const tab = await activeTab();
  let win = await browser.windows.get(tab.windowId);
  launchSize ??= { windowId: win.id, width: win.width, height: win.height };
  let viewport = await viewportOf(tab.id, ms);
  for (let attempt = 0; attempt < RESIZE_ATTEMPTS; attempt++) {
    if (viewport.width === width && viewport.height === height) return viewport;
    const outer = { width: win.width + width - viewport.width, height: win.height + height - viewport.height };
    await browser.windows.update(win.id, outer);
    await windowResized(win.id, outer.width, outer.height);
    viewport = await viewportSettled(tab.id, ms);
    win = await browser.windows.get(win.id);
  }
  if (viewport.width === width && viewport.height === height) return viewport;
  // Firefox keeps its window at least about 500 CSS pixels wide (the
  // toolbar's minimum), so narrower viewports end here.
  throw failedPrecondition(
    `Firefox would not size its window for a ${width}x${height} viewport: ` +
      `the window stays ${win.width}x${win.height} and the viewport ${viewport.width}x${viewport.height}`,
  );
}

// set_viewport: resizes the window so that the current tab's page sees
// innerWidth x innerHeight = width x height. Headless Firefox has no
// device emulation for extensions, so this sizes the whole (outer)
// window; every tab of the window gets the new size.
async function setViewport(params) {
  const width = viewportSide(params, "width");
  const height = viewportSide(params, "height");
  const ms = timeoutMs(params, DEFAULT_TIMEOUT_MS);
  return withTimeout(resizeViewport(width, height, ms), ms, `resizing the viewport to ${width}x${height}`);
}

onReset("viewport", async () => {
  if (!launchSize) return;
  const win = await browser.windows.get(launchSize.windowId);
  if (win.width === launchSize.width && win.height === launchSize.height) return;
  await browser.windows.update(win.id, { width: launchSize.width, height: launchSize.height });
  await windowResized(win.id, launchSize.width, launchSize.height);
});

export const captureCommands = { screenshot, get_text: getText, set_viewport: setViewport };
