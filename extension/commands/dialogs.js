// set_dialog_policy: how alert/confirm/prompt are answered. page/hooks.js
// answers them in every frame, synchronously, from the global
// __foxpoolDialogPolicy of the content-script world; this module puts the
// policy there: in the documents already open at once, and in every later
// document through a content script registered for document_start (it
// runs before any of the page's scripts can open a dialog).
//
// Not covered: beforeunload prompts (Firefox shows none to a page the user
// never interacted with, which is every page here). Frames the page creates
// get the hooks at once (Firefox runs match_about_blank content scripts in
// a new iframe's initial document before the page can reach it).
import { invalidArgument, withTimeout } from "../errors.js";
import { onReset } from "../lease_state.js";

const ACTIONS = new Set(["DIALOG_ACTION_DISMISS_UNSPECIFIED", "DIALOG_ACTION_ACCEPT"]);
const DISMISS = { action: "DIALOG_ACTION_DISMISS_UNSPECIFIED" };
const OPEN_DOCUMENTS_MS = 5000;

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

// Best effort, and bounded: a privileged page (about:blank) has no hooks
// to tell, and a page stuck in a script loop never answers.
async function setInOpenDocuments(policy) {
  const tabs = await browser.tabs.query({});
  const told = Promise.all(tabs.map((tab) => browser.scripting
    .executeScript({ target: { tabId: tab.id, allFrames: true }, func: setPolicyInFrame, args: [policy], injectImmediately: true })
    .catch(() => {})));
  await withTimeout(told, OPEN_DOCUMENTS_MS, "telling the open documents").catch(() => {});
}

// Registers the policy for new documents (DISMISS, the hooks' default,
// needs no registration) and, unless told not to, tells the open ones.
// Runs one at a time.
function applyPolicy(policy, { openDocuments = true } = {}) {
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
    if (openDocuments) await setInOpenDocuments(policy);
  });
  return updating;
}

async function set_dialog_policy(params) {
  await applyPolicy(parsePolicy(params.policy));
  return {};
}

// The reset closes the lease's tabs: only new documents need to know.
onReset("dialog policy", () => applyPolicy(DISMISS, { openDocuments: false }));

export const dialogCommands = { set_dialog_policy };
