// foxpool's extension: connects to the server's loopback hub, proves which
// window it is with the session id and secret from its own config.json, and
// executes the commands the hub sends. One method → handler table; every
// reply is {id, ok, result} or {id, ok: false, error: {code, message}}.
import { toErrorPayload, CommandError } from "./errors.js";
import { healthCommands } from "./commands/health.js";
import { navigationCommands } from "./commands/navigation.js";
import { quitCommands } from "./commands/quit.js";
import { resetCommands } from "./commands/reset.js";
import { screenshotCommands } from "./commands/screenshot.js";
import { scriptCommands } from "./commands/script.js";

const HANDLERS = {
  ...healthCommands,
  ...navigationCommands,
  ...scriptCommands,
  ...screenshotCommands,
  ...resetCommands,
  ...quitCommands,
};

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
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(reply));
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
      return;
    }
    if (typeof frame?.id === "number" && typeof frame?.method === "string") {
      handle(socket, frame);
    }
  };
  socket.onclose = () => {
    const next = welcomed ? RECONNECT_MIN_MS : Math.min(delay * 2, RECONNECT_MAX_MS);
    setTimeout(() => connect(config, next), welcomed ? RECONNECT_MIN_MS : delay);
  };
}

loadConfig().then((config) => connect(config));
