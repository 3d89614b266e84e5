// Page hooks: a content script in every frame at document_start (the
// extension's ISOLATED world). It reports the page's console messages,
// uncaught errors and unhandled rejections as Session events, and answers
// alert/confirm/prompt itself per the lease's dialog policy, so that no
// modal dialog ever blocks the page.
//
// The page's console and dialog functions are replaced with Firefox's
// exportFunction, which defines them in the page's realm from here: no
// script element is inserted, so the page's Content-Security-Policy does not
// get a say. The dialog policy is the global `__foxpoolDialogPolicy` of this
// world ({action, prompt_text} as the proto's DialogPolicy JSON), set by
// commands/dialogs.js; absent means DISMISS.
(() => {
  if (globalThis.__foxpoolHooks) return;
  globalThis.__foxpoolHooks = true;

  const MAX_TEXT = 8192;
  const MAX_EVENTS_PER_SECOND = 200;
  const LEVELS = ["log", "info", "warn", "error", "debug"];
  const page = window.wrappedJSObject;

  // A frame that logs in a tight loop must not flood the extension's
  // messaging: past the budget, events are counted (not even formatted)
  // and the count reported once the budget allows.
  let budgetStart = 0;
  let sentInBudget = 0;
  let dropped = 0;

  // `describeEvent()` builds the event, only when it is going to be sent.
  function send(describeEvent) {
    const now = Date.now();
    if (now - budgetStart >= 1000) {
      budgetStart = now;
      sentInBudget = 0;
      if (dropped > 0) {
        post({ kind: "KIND_CONSOLE", level: "warn", text: `foxpool dropped ${dropped} events of this frame`, time_ms: now });
        dropped = 0;
      }
    }
    if (sentInBudget >= MAX_EVENTS_PER_SECOND) {
      dropped++;
      return;
    }
    post({ ...describeEvent(), time_ms: now });
  }

  function post(event) {
    sentInBudget++;
    browser.runtime.sendMessage({ type: "event", event }).catch(() => {});
  }

  function cap(text) {
    return text.length <= MAX_TEXT ? text : `${text.slice(0, MAX_TEXT - 1)}…`;
  }

  function isErrorLike(value) {
    try {
      return typeof value.name === "string" && typeof value.message === "string" && "stack" in value;
    } catch {
      return false;
    }
  }

  function errorText(error) {
    return error.message ? `${error.name}: ${error.message}` : error.name;
  }

  function describeNode(node) {
    if (node.nodeType !== 1) return node.nodeName;
    const id = node.id ? `#${node.id}` : "";
    const classes = typeof node.className === "string" && node.className.trim()
      ? `.${node.className.trim().split(/\s+/).join(".")}`
      : "";
    return `<${node.localName}${id}${classes}>`;
  }

  // One console argument as a console would print it (in short).
  function describe(value) {
    switch (typeof value) {
      case "string":
        return value;
      case "function":
        return `function ${value.name || "anonymous"}()`;
      case "object":
        break;
      default:
        return String(value);  // number, boolean, bigint, symbol, undefined
    }
    if (value === null) return "null";
    try {
      if (isErrorLike(value)) return errorText(value);
      if (value instanceof Node) return describeNode(value);
      const json = JSON.stringify(value);
      if (json !== undefined) return json;
    } catch {
      // Cycles and other values JSON cannot express: their class below.
    }
    return Object.prototype.toString.call(value);
  }

  // printf-style substitutions in a leading format string, then the rest of
  // the arguments separated by spaces.
  function formatArguments(args) {
    let rest = args;
    const parts = [];
    if (typeof args[0] === "string" && args.length > 1) {
      let next = 1;
      parts.push(args[0].replace(/%([sdifoOc%])/g, (match, spec) => {
        if (spec === "%") return "%";
        if (next >= args.length) return match;
        const value = args[next++];
        if (spec === "c") return "";
        if (spec === "d" || spec === "i") return String(typeof value === "number" ? Math.trunc(value) : parseInt(value, 10));
        if (spec === "f") return String(parseFloat(value));
        return describe(value);
      }));
      rest = args.slice(next);
    }
    return parts.concat(rest.map(describe)).join(" ");
  }

  function hookConsole() {
    const pageConsole = page.console;
    for (const level of LEVELS) {
      const original = pageConsole[level];
      if (typeof original !== "function") continue;
      exportFunction(function (...args) {
        try {
          send(() => ({ kind: "KIND_CONSOLE", level, text: cap(formatArguments(args)) }));
        } catch {
          // Reporting must never break the page's logging.
        }
        // Reflect.apply from this world: the page may not read this
        // world's array, but it gets each argument as its own value.
        return Reflect.apply(original, pageConsole, args);
      }, pageConsole, { defineAs: level });
    }
  }

  function errorEvent(value, fallbackText, fallbackStack) {
    let text = fallbackText;
    let stack = fallbackStack;
    try {
      if (isErrorLike(value)) {
        text = errorText(value);
        stack = String(value.stack ?? "") || fallbackStack;
      } else if (value !== undefined && value !== null) {
        text = `Uncaught ${describe(value)}`;
      }
    } catch {
      // Keep the event's own description.
    }
    return { kind: "KIND_PAGE_ERROR", text: cap(text), stack: cap(stack) };
  }

  function hookErrors() {
    window.addEventListener("error", (event) => {
      // Failed resource loads are plain Events, not ErrorEvents.
      if (!(event instanceof ErrorEvent)) return;
      const where = event.filename ? `@${event.filename}:${event.lineno}:${event.colno}` : "";
      send(() => errorEvent(event.error, event.message, where));
    });
    window.addEventListener("unhandledrejection", (event) => {
      send(() => errorEvent(event.reason, "Unhandled rejection", ""));
    });
  }

  // The page's answer under the current policy: DISMISS closes an alert,
  // makes confirm false and prompt null; ACCEPT makes confirm true and
  // prompt the policy's text, or else the prompt's default.
  function answerDialog(type, message, defaultValue) {
    const policy = globalThis.__foxpoolDialogPolicy ?? {};
    const accept = policy.action === "DIALOG_ACTION_ACCEPT";
    let answer = null;
    if (type === "confirm") answer = accept;
    if (type === "prompt" && accept) answer = policy.prompt_text || defaultValue;
    send(() => ({ kind: "KIND_DIALOG_OPENED", dialog_type: type, text: cap(message), dialog_answer: JSON.stringify(answer) }));
    return answer;
  }

  // As the browser converts the arguments (undefined: the empty string).
  const text = (value) => (value === undefined ? "" : String(value));

  function hookDialogs() {
    exportFunction(function alert(message) {
      answerDialog("alert", text(message));
    }, page, { defineAs: "alert" });
    exportFunction(function confirm(message) {
      return answerDialog("confirm", text(message));
    }, page, { defineAs: "confirm" });
    exportFunction(function prompt(message, defaultValue) {
      return answerDialog("prompt", text(message), text(defaultValue));
    }, page, { defineAs: "prompt" });
  }

  hookConsole();
  hookErrors();
  hookDialogs();
})();
