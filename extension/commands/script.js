// evaluate: JavaScript in the page's own realm, with JSON arguments and a
// JSON result.
import { CommandError, invalidArgument, withTimeout } from "../errors.js";
import { requireString, timeoutMs } from "../params.js";
import { activeTab } from "../tabs.js";

const MAX_SOURCE_BYTES = 1 << 20;

// Runs in the page (world MAIN), so it may use nothing from this module.
// The source is an expression, a statement list, or a function called with
// `args`; a promise is awaited. The outcome comes back as plain data.
async function evaluateInPage(source, args) {
  let value;
  try {
    let compiled;
    try {
      try {
        compiled = (0, eval)(`(${source}\n)`);
      } catch (e) {
        if (!(e instanceof SyntaxError)) throw e;
        compiled = (0, eval)(source);
      }
    } catch (e) {
      // eval itself refused: the page's Content-Security-Policy forbids it.
      if (e instanceof EvalError) return { ok: false, blocked: true, message: e.message };
      throw e;
    }
    value = typeof compiled === "function" ? await compiled(...args) : await compiled;
  } catch (e) {
    const name = e?.name ?? "Error";
    const message = e?.message ?? String(e);
    return { ok: false, syntax: e instanceof SyntaxError, name, message, stack: String(e?.stack ?? "") };
  }
  try {
    const json = JSON.stringify(value);
    return { ok: true, json: json === undefined ? "null" : json };
  } catch (e) {
    return { ok: false, serialize: true, name: e?.name ?? "Error", message: e?.message ?? String(e) };
  }
}

async function evaluate(params) {
  const source = requireString(params, "expression");
  if (source.length > MAX_SOURCE_BYTES) {
    throw invalidArgument(`expression is longer than ${MAX_SOURCE_BYTES} bytes`);
  }
  const args = params.args ?? [];
  if (!Array.isArray(args)) throw invalidArgument("args must be a JSON array");
  const ms = timeoutMs(params, 30000);
  const tab = await activeTab();
  const run = browser.scripting.executeScript({
    target: { tabId: tab.id },
    world: "MAIN",
    func: evaluateInPage,
    args: [source, args],
  });
  let injection;
  try {
    [injection] = await withTimeout(run, ms, "the script");
  } catch (e) {
    if (e instanceof CommandError) throw e;
    // The injection itself failed: a privileged page (about:), or a page
    // whose Content-Security-Policy forbids eval.
    throw new CommandError("FAILED_PRECONDITION", `cannot run script in ${tab.url}: ${e?.message ?? e}`);
  }
  const outcome = injection?.result;
  if (injection?.error) {
    throw new CommandError("FAILED_PRECONDITION", `cannot run script in ${tab.url}: ${injection.error}`);
  }
  if (!outcome) throw new CommandError("INTERNAL", "the script returned nothing");
  if (outcome.ok) return { result_json: outcome.json };
  if (outcome.serialize) {
    throw invalidArgument(`the result cannot be expressed as JSON: ${outcome.message}`);
  }
  if (outcome.blocked) {
    throw new CommandError(
      "FAILED_PRECONDITION",
      `the page's Content-Security-Policy forbids evaluating scripts: ${outcome.message}`,
    );
  }
  if (outcome.syntax) throw invalidArgument(`${outcome.name}: ${outcome.message}`);
  throw new CommandError("UNKNOWN", `${outcome.name}: ${outcome.message}`);
}

export const scriptCommands = { evaluate };
