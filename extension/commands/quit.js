// quit: close every window, so that Firefox shuts down the normal way
// (profile flushed, exit code 0). The server kills what is left after a
// grace period.
async function quit() {
  const windows = await browser.windows.getAll();
  // Answer first: once the last window is gone nothing more is sent.
  setTimeout(() => {
    for (const w of windows) browser.windows.remove(w.id).catch(() => {});
  }, 0);
  return { windows: windows.length };
}

export const quitCommands = { quit };
