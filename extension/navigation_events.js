// Session events for the top-level navigations of every tab of the window:
// started (webNavigation.onBeforeNavigate), finished (onCompleted) and
// failed (onErrorOccurred, text: Firefox's error by name). A load that another one
// replaced (NS_BINDING_ABORTED: a redirect, a process switch, a newer
// navigation) is not reported as failed; its replacement reports itself.
import { emit } from "./events.js";
import { describeNetworkError } from "./tabs.js";

const NS_BINDING_ABORTED = String(0x804b0002);

function topFrame(listener) {
  return (details) => {
    if (details.frameId === 0) listener(details);
  };
}

browser.webNavigation.onBeforeNavigate.addListener(topFrame(({ tabId, url }) => {
  emit({ kind: "KIND_NAVIGATION_STARTED", tab_id: tabId, frame_id: 0, url });
}));

browser.webNavigation.onCompleted.addListener(topFrame(({ tabId, url }) => {
  emit({ kind: "KIND_NAVIGATION_FINISHED", tab_id: tabId, frame_id: 0, url });
}));

browser.webNavigation.onErrorOccurred.addListener(topFrame(({ tabId, url, error }) => {
  if ((error ?? "").includes(NS_BINDING_ABORTED)) return;
  emit({ kind: "KIND_NAVIGATION_FAILED", tab_id: tabId, frame_id: 0, url, text: describeNetworkError(error) });
}));
