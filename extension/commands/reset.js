// reset: make the window look like a fresh browser, then prove it.
import { internal } from "../errors.js";
import { undoLeaseState } from "../lease_state.js";

const SITE_DATA = {
  cache: true,
  cookies: true,
  downloads: true,
  formData: true,
  history: true,
  indexedDB: true,
  localStorage: true,
  passwords: true,
  pluginData: true,
  serviceWorkers: true,
};

async function reset() {
  // The lease's settings first (block rules, proxy, preload scripts ...),
  // so that nothing it set acts on the next lease.
  const failures = await undoLeaseState();
  if (failures.length > 0) throw internal(`could not undo the lease's settings: ${failures.join("; ")}`);
  // A new tab rather than the old one at about:blank: sessionStorage and the
  // back/forward history live with the tab.
  const before = await browser.tabs.query({});
  const fresh = await browser.tabs.create({ url: "about:blank", active: true });
  const others = before.map((t) => t.id).filter((id) => id !== fresh.id);
  if (others.length > 0) await browser.tabs.remove(others);
  await browser.browsingData.remove({ since: 0 }, SITE_DATA);

  const tabs = await browser.tabs.query({});
  const cookies = await browser.cookies.getAll({ partitionKey: {} });
  if (tabs.length !== 1 || tabs[0].url !== "about:blank") {
    throw internal(`after reset the window has ${tabs.length} tabs (${tabs.map((t) => t.url).join(", ")})`);
  }
  if (cookies.length !== 0) throw internal(`after reset ${cookies.length} cookies remain`);
  return { tabs: tabs.length, cookies: cookies.length };
}

export const resetCommands = { reset };
