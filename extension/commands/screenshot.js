// screenshot: the visible viewport as PNG.
import { activeTab } from "../tabs.js";

async function screenshot() {
  const tab = await activeTab();
  const dataUrl = await browser.tabs.captureVisibleTab(tab.windowId, { format: "png" });
  const comma = dataUrl.indexOf(",");
  return { format: "png", base64: dataUrl.slice(comma + 1) };
}

export const screenshotCommands = { screenshot };
