// ping: the pool's health probe. It runs a trivial script in the window's
// page, so it fails not only when the browser or this extension is stuck but
// also when the page's content process crashed or hangs (a busy loop).
import { CommandError, unavailable, withTimeout } from "../errors.js";
import { timeoutMs } from "../params.js";
import { activeTab } from "../tabs.js";

async function ping(params) {
  const ms = timeoutMs(params, 5000);
  const started = performance.now();
  const tab = await activeTab();
  let injection;
  try {
    [injection] = await withTimeout(
      browser.scripting.executeScript({ target: { tabId: tab.id }, func: () => 1, injectImmediately: true }),
      ms,
      "the page",
    );
  } catch (e) {
    if (e instanceof CommandError) throw e;  // Our own deadline error.
    throw unavailable(`the page did not run a script: ${e?.message ?? e}`);
  }
  if (injection?.result !== 1) throw unavailable("the page did not run a script");
  return { pong: true, ms: performance.now() - started };
}

export const healthCommands = { ping };
