// navigate, title, url, content.
import { invalidArgument } from "../errors.js";
import { requireString, timeoutMs } from "../params.js";
import { activeTab, loadTab } from "../tabs.js";

const ALLOWED_SCHEMES = new Set(["http:", "https:"]);

function checkUrl(raw) {
  if (raw === "about:blank") return raw;
  let url;
  try {
    url = new URL(raw);
  } catch {
    throw invalidArgument(`not an absolute URL: ${raw}`);
  }
  if (!ALLOWED_SCHEMES.has(url.protocol)) {
    throw invalidArgument(`URL scheme ${url.protocol} is not allowed (http, https, about:blank)`);
  }
  return url.href;
}

async function navigate(params) {
  const url = checkUrl(requireString(params, "url"));
  const ms = timeoutMs(params, 30000);
  const tab = await activeTab();
  await loadTab(tab.id, () => browser.tabs.update(tab.id, { url }), ms, `loading ${url}`);
  const loaded = await browser.tabs.get(tab.id);
  return { url: loaded.url, title: loaded.title ?? "" };
}

async function title() {
  const tab = await activeTab();
  return { title: tab.title ?? "" };
}

async function url() {
  const tab = await activeTab();
  return { url: tab.url ?? "" };
}

async function content() {
  const tab = await activeTab();
  const [injection] = await browser.scripting.executeScript({
    target: { tabId: tab.id },
    func: () => {
      const doctype = document.doctype ? new XMLSerializer().serializeToString(document.doctype) : "";
      return doctype + (document.documentElement?.outerHTML ?? "");
    },
  });
  return { html: injection?.result ?? "" };
}

export const navigationCommands = { navigate, title, url, content };
