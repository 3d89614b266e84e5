// Settings a lease makes (block rules, headers, proxy, preload scripts,
// viewport, dialog policy ...) must not outlive it. Each module that keeps
// such state registers how to undo it; reset runs them all before it
// clears the browser.
const hooks = [];

export function onReset(name, undo) {
  hooks.push({ name, undo });
}

// Runs every hook; returns the names of those that failed (with why).
export async function undoLeaseState() {
  const failures = [];
  for (const { name, undo } of hooks) {
    try {
      await undo();
    } catch (e) {
      failures.push(`${name}: ${e?.message ?? e}`);
    }
  }
  return failures;
}
