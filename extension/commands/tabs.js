// open_tab, list_tabs, switch_tab, close_tab, list_frames. Every tab lives
// in the window's one browser window; the current tab is its active one.
import { CommandError, failedPrecondition, invalidArgument, notFound } from "../errors.js";
import { timeoutMs } from "../params.js";
import { listFrames, resolveTab } from "../target.js";
import { WAIT_NONE, activeTab, followNavigation } from "../tabs.js";
import { checkUrl, loadDataUrl, waitUntil } from "./navigation.js";

// TabInfo. The title is the one Firefox shows, except that the blank page
// has none (Firefox labels it "New Tab").
function tabInfo(tab) {
  const title = tab.url === "about:blank" ? "" : (tab.title ?? "");
  return { tab_id: tab.id, url: tab.url ?? "", title, active: tab.active === true };
}

// A tab the caller names; unlike resolveTab, 0 is not "the current tab".
async function namedTab(params) {
  const tabId = params.tab_id;
  if (!Number.isInteger(tabId) || tabId <= 0) throw invalidArgument("tab_id must name a tab (see ListTabs)");
  return resolveTab(tabId);
}

// Opens a tab at `url` (default about:blank), current unless `background`,
// and waits for it as navigate does.
async function open_tab(params) {
  const url = params.url ? checkUrl(params.url) : "about:blank";
  const mode = waitUntil(params);
  const ms = timeoutMs(params, 30000);
  const active = params.background !== true;
  if (url.startsWith("data:")) {
    // Firefox opens no tab at a data: URL for an extension ("Illegal URL"):
    // the new tab's blank page loads it.
    const tab = await browser.tabs.create({ url: "about:blank", active });
    await stillOpenOnError(loadDataUrl(tab, url, mode, ms), () => tab.id);
    return { tab: tabInfo(await browser.tabs.get(tab.id)) };
  }
  if (url === "about:blank" || mode === WAIT_NONE) {
    // Nothing to wait for; the tab may not show its URL yet.
    const tab = await browser.tabs.create({ url, active });
    return { tab: { ...tabInfo(tab), url } };
  }
  let tabId;
  const { done } = followNavigation(
    async () => {
      tabId = (await browser.tabs.create({ url, active })).id;
      return tabId;
    },
    { waitUntil: mode, ms, what: `opening a tab at ${url}`, ignoreUrl: (u) => u === "about:blank" },
  );
  await stillOpenOnError(done, () => tabId);
  return { tab: tabInfo(await browser.tabs.get(tabId)) };
}

// Waits for `loading`, the load of a new tab (`tabId()` once it exists); a
// failed load leaves the tab (showing Firefox's error page, or still
// loading), and the error says so.
async function stillOpenOnError(loading, tabId) {
  try {
    await loading;
  } catch (e) {
    const id = tabId();
    if (!(e instanceof CommandError) || id === undefined) throw e;
    throw new CommandError(e.code, `${e.message} (tab ${id} stays open)`);
  }
}

// Every tab, the ones a page opened (window.open, target=_blank) included.
async function list_tabs() {
  const tabs = await browser.tabs.query({});
  const current = await activeTab();
  return { tabs: tabs.map((tab) => ({ ...tabInfo(tab), active: tab.id === current.id })) };
}

// Makes a tab the current one. A popup that Firefox opened as a window of
// its own is focused too, since the current tab is the focused window's.
async function switch_tab(params) {
  const tab = await namedTab(params);
  await browser.tabs.update(tab.id, { active: true });
  const current = await activeTab();
  if (current.id !== tab.id) await browser.windows.update(tab.windowId, { focused: true });
  return { tab: tabInfo(await browser.tabs.get(tab.id)) };
}

// Closes a tab (0: the current one). Firefox makes a neighbour (or the
// opener) current when it was. The last tab stays: closing it would close
// the window.
async function close_tab(params) {
  const tab = params.tab_id ? await namedTab(params) : await activeTab();
  const all = await browser.tabs.query({});
  if (all.length <= 1) throw failedPrecondition(`tab ${tab.id} is the window's last tab`);
  await browser.tabs.remove(tab.id);
  return {};
}

// Top frame first, then each frame's children depth first in document
// order (their index in the parent's window.frames).
function documentOrder(frames) {
  const children = new Map();
  for (const frame of frames) {
    if (!children.has(frame.parent_frame_id)) children.set(frame.parent_frame_id, []);
    children.get(frame.parent_frame_id).push(frame);
  }
  const rank = (f) => (f.index < 0 ? Number.MAX_SAFE_INTEGER : f.index);
  const out = [];
  const visit = (parentId) => {
    const kids = (children.get(parentId) ?? []).sort((a, b) => rank(a) - rank(b) || a.frame_id - b.frame_id);
    for (const kid of kids) {
      out.push(kid);
      visit(kid.frame_id);
    }
  };
  visit(-1);
  return out;
}

async function list_frames(params) {
  const tab = await resolveTab(params.tab_id);
  const frames = documentOrder(await listFrames(tab.id));
  if (frames.length === 0) throw notFound(`tab ${tab.id} has no document`);
  return {
    frames: frames.map((f) => ({ frame_id: f.frame_id, parent_frame_id: f.parent_frame_id, url: f.url, name: f.name })),
  };
}

export const tabCommands = { open_tab, list_tabs, switch_tab, close_tab, list_frames };
