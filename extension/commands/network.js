// Network controls of the window: set_block_rules, set_extra_headers,
// set_user_agent, set_proxy (each replaces the previous setting, acts on
// the pages' requests only, and is undone when the lease ends) and
// wait_for_network_idle. The mechanisms live in ../network_*.js.
import { durationJson, durationMs, timeoutMs } from "../params.js";
import { resolveTab } from "../target.js";
import { applyBlockRules, parseBlockRules } from "../network_block.js";
import { applyHeaders, applyUserAgent, parseHeaders, parseUserAgent } from "../network_headers.js";
import { waitForIdle } from "../network_idle.js";
import { applyProxy, parseProxy } from "../network_proxy.js";
import { checkProxy } from "../network_policy.js";

const DEFAULT_IDLE_MS = 500;
// The time-out answer must reach the server before its own deadline, which
// timeout_ms leaves only 50 ms for; on a busy machine the hub takes longer
// both ways, and the caller would get a bare deadline error instead of
// which requests were still in flight. So the wait ends a little earlier.
const ANSWER_MARGIN_MS = 250;

// Requests whose URL matches a pattern or whose type is listed are
// cancelled (both lists empty: nothing is).
async function set_block_rules(params) {
  applyBlockRules(parseBlockRules(params));
  return {};
}

// Headers added to, or replacing (names compared case-insensitively),
// those of every page request.
async function set_extra_headers(params) {
  applyHeaders(parseHeaders(params));
  return {};
}

// The User-Agent header and navigator.userAgent in every frame from the
// next document on (the current documents keep theirs); empty: Firefox's.
async function set_user_agent(params) {
  await applyUserAgent(parseUserAgent(params));
  return {};
}

async function set_proxy(params) {
  const proxy = parseProxy(params);
  if (proxy) await checkProxy(proxy.info.host, proxy.info.port);
  applyProxy(proxy);
  return {};
}

// Resolves once the tab has had no request in flight for idle_time.
async function wait_for_network_idle(params) {
  const started = performance.now();
  const idleMs = durationMs(params, "idle_time", DEFAULT_IDLE_MS);
  const ms = timeoutMs(params, 30000);
  const tab = await resolveTab(params.tab_id);
  const margin = Math.min(ANSWER_MARGIN_MS, ms / 4);
  const waitMs = Math.max(1, ms - margin - (performance.now() - started));
  return { waited: durationJson(await waitForIdle(tab.id, { idleMs, waitMs, timeoutMs: ms })) };
}

export const networkCommands = {
  set_block_rules,
  set_extra_headers,
  set_user_agent,
  set_proxy,
  wait_for_network_idle,
};
