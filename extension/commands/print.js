// print_to_pdf: Firefox's own PDF printer. No extension API returns a PDF's
// bytes (tabs.saveAsPDF insists on a file dialog, which fails headless), so
// the profile's preferences make every print silent and send it to a file
// the server reads back once this command answers. The page prints itself
// (window.print from the content-script world) and we answer at its
// afterprint event, when Firefox has closed the file.
import { timeoutMs } from "../params.js";
import { resolveTab, runInFrame } from "../target.js";

// One file per window: prints run one at a time.
let printing = Promise.resolve();

// Runs in the page's content-script world.
function printAndWait() {
  return new Promise((resolve) => {
    window.addEventListener("afterprint", () => resolve({ printed: true }), { once: true });
    window.print();
  });
}

async function print_to_pdf(params) {
  const ms = timeoutMs(params, 30000);
  const started = Date.now();
  const tab = await resolveTab(params.tab_id);
  const job = printing.catch(() => {}).then(() =>
    runInFrame({ tabId: tab.id, frameId: 0 }, printAndWait, [], {
      timeoutMs: Math.max(1, ms - (Date.now() - started)),
      what: `printing tab ${tab.id}`,
    }));
  printing = job;
  await job;
  return {};
}

export const printCommands = { print_to_pdf };
