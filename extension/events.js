// Events for the Session stream, sent to the hub as {type: "event", event}
// where event is the proto's SessionEvent as JSON ({kind:
// "KIND_CONSOLE", tab_id, text, ...}). Best effort: nothing is queued while
// disconnected, and at most MAX_PER_SECOND go out each second; the number
// dropped is reported once the rate allows.
const MAX_PER_SECOND = 200;

let sink = null;
let windowStart = 0;
let sentThisWindow = 0;
let dropped = 0;

// background.js points this at the live socket: a function sending one
// frame (null when disconnected).
export function setSender(sendFrame) {
  sink = sendFrame;
}

// Sends a frame of the extension's own (not an event) to the hub, if connected.
export function send(frame) {
  if (sink) sink(frame);
}

function sendEvent(event) {
  sink({ type: "event", event });
}

export function emit(event) {
  if (!sink) return;
  const now = Date.now();
  if (now - windowStart >= 1000) {
    windowStart = now;
    sentThisWindow = 0;
    if (dropped > 0) {
      const n = dropped;
      dropped = 0;
      sentThisWindow++;
      sendEvent({ kind: "KIND_CONSOLE", level: "warn", text: `foxpool dropped ${n} events (over ${MAX_PER_SECOND}/s)`, time_ms: now });
    }
  }
  if (sentThisWindow >= MAX_PER_SECOND) {
    dropped++;
    return;
  }
  sentThisWindow++;
  sendEvent({ time_ms: now, ...event });
}
