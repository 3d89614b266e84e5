// foxpool's extension: connects to the server's loopback hub, proves which
// window it is with the session id and secret from its own config.json, and
// executes the commands the hub sends. One method → handler table; every
// reply is {id, ok, result} or {id, ok: false, error: {code, message}}.
import { toErrorPayload, CommandError } from "./errors.js";
import { emit, setSender } from "./events.js";
import "./navigation_events.js";
import { policyReady } from "./network_policy.js";
import { captureCommands } from "./commands/capture.js";
import { dialogCommands } from "./commands/dialogs.js";
import { elementCommands } from "./commands/elements.js";
import { healthCommands } from "./commands/health.js";
import { navigationCommands } from "./commands/navigation.js";
import { networkCommands } from "./commands/network.js";
import { printCommands } from "./commands/print.js";
import { quitCommands } from "./commands/quit.js";
import { resetCommands } from "./commands/reset.js";
import { scriptCommands } from "./commands/script.js";
import { storageCommands } from "./commands/storage.js";
import { tabCommands } from "./commands/tabs.js";

const HANDLERS = {
  ...healthCommands,
  ...navigationCommands,
  ...tabCommands,
  ...elementCommands,
  ...scriptCommands,
  ...storageCommands,
  ...networkCommands,
  ...captureCommands,
  ...printCommands,
  ...dialogCommands,
  ...resetCommands,
  ...quitCommands,
};

// Content scripts (page/*.js) report page events through runtime messages;
// the sender says which tab and frame.
browser.runtime.onMessage.addListener((message, sender) => {
  if (message?.type !== "event" || !sender.tab) return;
  emit({ ...message.event, tab_id: sender.tab.id, frame_id: sender.frameId ?? 0, url: message.event?.url ?? sender.url ?? "" });
});

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 2000;

async function loadConfig() {
  const response = await fetch(browser.runtime.getURL("config.json"));
  return response.json();
}

async function handle(socket, frame) {
  const { id, method, params } = frame;
  const handler = Object.hasOwn(HANDLERS, method) ? HANDLERS[method] : undefined;
  let reply;
  try {
    if (!handler) throw new CommandError("UNIMPLEMENTED", `unknown method ${method}`);
    reply = { id, ok: true, result: await handler(params ?? {}) };
  } catch (error) {
    reply = { id, ok: false, error: toErrorPayload(error) };
  }
  if (socket.readyState === WebSocket.OPEN) socket.send(withinLimit(reply, params?.max_result_bytes));
}

// The reply as text, or an error in its place when it is larger than the
// server accepts: a frame above the hub's limit would cost the connection.
function withinLimit(reply, limit) {
  const text = JSON.stringify(reply);
  if (!Number.isSafeInteger(limit) || text.length * 3 <= limit) return text;
  const bytes = new TextEncoder().encode(text).length;
  if (bytes <= limit) return text;
  return JSON.stringify({
    id: reply.id,
    ok: false,
    error: {
      code: "RESOURCE_EXHAUSTED",
      message: `the result is ${bytes} bytes; the limit is ${limit} (--max_result_bytes, --max_screenshot_bytes)`,
    },
  });
}

function connect(config, delay = RECONNECT_MIN_MS) {
  const socket = new WebSocket(config.hub);
  let welcomed = false;
  socket.onopen = () => {
    socket.send(JSON.stringify({ type: "hello", session: config.session, secret: config.secret }));
  };
  socket.onmessage = (event) => {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    if (!welcomed) {
      welcomed = frame?.type === "welcome";
      if (welcomed) setSender((frame) => socket.send(JSON.stringify(frame)));
      return;
    }
    if (typeof frame?.id === "number" && typeof frame?.method === "string") {
      handle(socket, frame);
    }
  };
  socket.onclose = () => {
    setSender(null);
    const next = welcomed ? RECONNECT_MIN_MS : Math.min(delay * 2, RECONNECT_MAX_MS);
    setTimeout(() => connect(config, next), welcomed ? RECONNECT_MIN_MS : delay);
  };
}

// Commands come only over the hub: connecting once the navigation policy's
// listener is in place means no page loads before it.
Promise.all([loadConfig(), policyReady]).then(([config]) => connect(config));
