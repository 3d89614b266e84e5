// set_dialog_policy: how alert/confirm/prompt are answered. page/hooks.js
// answers them in every frame, synchronously, from the global
// __foxpoolDialogPolicy of the content-script world; this module puts the
// policy there: in the documents already open at once, and in every later
// document through a content script registered for document_start (it
// runs before any of the page's scripts can open a dialog).
//
// Not covered: beforeunload prompts (Firefox shows none to a page the user
// never interacted with, which is every page here), and a dialog opened in
// a frame before its content scripts ran (a script calling alert() on a
// freshly inserted about:blank iframe right away gets Firefox's own dialog).
import { invalidArgument } from "../errors.js";
import { onReset } from "../lease_state.js";

const ACTIONS = new Set(["DIALOG_ACTION_DISMISS_UNSPECIFIED", "DIALOG_ACTION_ACCEPT"]);
const DISMISS = { action: "DIALOG_ACTION_DISMISS_UNSPECIFIED" };

let registration = null;
let updating = Promise.resolve();

function parsePolicy(raw) {
  const policy = raw ?? {};
  const action = policy.action ?? DISMISS.action;
  if (!ACTIONS.has(action)) throw invalidArgument(`unknown dialog action ${action}`);
  const promptText = policy.prompt_text ?? "";
  if (typeof promptText !== "string") throw invalidArgument("policy.prompt_text must be a string");
  return promptText ? { action, prompt_text: promptText } : { action };
}

// Runs in every frame of the open documents (ISOLATED world).
function setPolicyInFrame(policy) {
  globalThis.__foxpoolDialogPolicy = policy;
}

async function setInOpenDocuments(policy) {
  const tabs = await browser.tabs.query({});
  await Promise.all(tabs.map((tab) => browser.scripting
    .executeScript({ target: { tabId: tab.id, allFrames: true }, func: setPolicyInFrame, args: [policy], injectImmediately: true })
    .catch(() => {})));  // A privileged page (about:blank) has no hooks to tell.
}

// Registers the policy for new documents (DISMISS, the hooks' default,
// needs no registration) and tells the open ones. Runs one at a time.
function applyPolicy(policy) {
  updating = updating.catch(() => {}).then(async () => {
    const previous = registration;
    registration = null;
    await previous?.unregister();
    if (policy.action !== DISMISS.action) {
      registration = await browser.contentScripts.register({
        matches: ["<all_urls>"],
        js: [{ code: `globalThis.__foxpoolDialogPolicy = ${JSON.stringify(policy)};` }],
        runAt: "document_start",
        allFrames: true,
        matchAboutBlank: true,
      });
    }
    await setInOpenDocuments(policy);
  });
  return updating;
}

async function set_dialog_policy(params) {
  await applyPolicy(parsePolicy(params.policy));
  return {};
}

onReset("dialog policy", () => applyPolicy(DISMISS));

export const dialogCommands = { set_dialog_policy };
