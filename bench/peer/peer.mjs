// The peer of bench/loadgen.cc: puppeteer-core driving the same firefox-esr
// over WebDriver BiDi from inside this process, measured the way loadgen
// measures foxpool, so the report can set foxpool's remote round trips
// beside a direct driver's. Appends the result rows of bench/samples.h.
//
//   node peer.mjs --out /tmp/peer.jsonl

import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import puppeteer from 'puppeteer-core';

const { values: flags } = parseArgs({
  options: {
    samples: { type: 'string', default: '200' },
    windows: { type: 'string', default: '1,2,4' },
    'run-time-s': { type: 'string', default: '10' },
    tasks: { type: 'string', default: '20' },
    'task-concurrency': { type: 'string', default: '2' },
    out: { type: 'string' },
    firefox: { type: 'string', default: '/usr/bin/firefox-esr' },
  },
});
const samples = positive('samples');
const windows = flags.windows.split(',').map(w => positive('windows', w));
const runTimeMs = positive('run-time-s') * 1000;
const tasks = positive('tasks');
const taskConcurrency = positive('task-concurrency');

function positive(name, text = flags[name]) {
  const n = Number(text);
  if (!(n > 0)) throw new Error(`--${name}: want a positive number, got ${text}`);
  return n;
}

const PAGE =
  "<!doctype html><title>bench</title><input id=q>" +
  "<button id=b onclick='this.textContent=Date.now()'>go</button><p>foxpool</p>";

// foxpool's lean prefs (firefox/profile.cc) minus the ones for its extension,
// printing and popups. Puppeteer already turns off updates, safe browsing and
// most first-run noise, and sets fission.webContentIsolationStrategy=0 itself
// (its workaround for mouse input into cross-site frames). None of these is needed
// for puppeteer to drive Firefox ESR 153; they only make the peer as quiet and
// small as foxpool's windows.
const LEAN_PREFS = {
  'app.update.auto': false,
  'app.normandy.enabled': false,
  'app.shield.optoutstudies.enabled': false,
  'toolkit.telemetry.enabled': false,
  'toolkit.telemetry.unified': false,
  'toolkit.telemetry.archive.enabled': false,
  'browser.ping-centre.telemetry': false,
  'browser.newtabpage.activity-stream.feeds.telemetry': false,
  'browser.newtabpage.activity-stream.telemetry': false,
  'browser.region.network.url': '',
  'browser.region.update.enabled': false,
  'browser.topsites.contile.enabled': false,
  'browser.urlbar.speculativeConnect.enabled': false,
  'browser.places.speculativeConnect.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'network.dns.disablePrefetch': true,
  'network.prefetch-next': false,
  'network.predictor.enabled': false,
  'media.gmp-gmpopenh264.enabled': false,
  'extensions.blocklist.enabled': false,
  'extensions.systemAddon.update.enabled': false,
  'identity.fxaccounts.enabled': false,
  'geo.provider.network.url': '',
  'dom.ipc.processCount': 1,
  'dom.ipc.processPrelaunch.enabled': false,
  'fission.autostart': false,
  'browser.cache.disk.enable': false,
  'network.process.enabled': false,
  'media.rdd-process.enabled': false,
  'media.utility-process.enabled': false,
  'dom.ipc.forkserver.enable': false,
};

// Every running browser and its profile, so that errors and ^C leave none behind.
const live = new Set();

async function launch() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'foxpool-peer-'));
  const entry = { dir, browser: null };
  live.add(entry);
  try {
    entry.browser = await puppeteer.launch({
      browser: 'firefox',
      protocol: 'webDriverBiDi',
      executablePath: flags.firefox,
      headless: true,
      userDataDir: dir,
      extraPrefsFirefox: LEAN_PREFS,
      // foxpool's default window (1280x800) shows a 1280x714 viewport:
      // screenshots of the same size.
      defaultViewport: { width: 1280, height: 714 },
      // Our own handlers below also remove the profiles.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
  } catch (error) {
    await close(entry);
    throw error;
  }
  return entry;
}

async function close(entry) {
  try {
    await entry.browser?.close();
  } finally {
    entry.browser?.process()?.kill('SIGKILL');
    fs.rmSync(entry.dir, { recursive: true, force: true });
    live.delete(entry);
  }
}

function killAll() {
  for (const { browser, dir } of live) {
    browser?.process()?.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
  live.clear();
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    killAll();
    process.exit(128 + os.constants.signals[signal]);
  });
}

// At most `limit` of fn(0..n-1) at once; all settle before a failure is thrown.
async function parallel(n, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(n, limit) }, worker));
  const failed = results.find(r => r.status === 'rejected');
  if (failed) throw failed.reason;
}

function stats(ms) {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = q => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  return { p50_ms: at(0.5), p90_ms: at(0.9), p99_ms: at(0.99), n: sorted.length };
}

const round = x => Math.round(x * 100) / 100;

function write(section, name, fields, config) {
  const row = { tool: 'puppeteer', section, name, ...fields, config };
  if (flags.out) fs.appendFileSync(flags.out, JSON.stringify(row) + '\n');
}

function tableRow(cells) {
  console.log(`| ${cells.join(' | ')} |`);
}

async function timed(fn) {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

// The #b lookup. dispose() keeps a long loop from piling up handles in the page.
async function findButton(page) {
  const handle = await page.$('#b');
  if (!handle) throw new Error('#b not found');
  await handle.dispose();
}

// PNG width and height from its IHDR chunk.
const pngSize = png => `${png.readUInt32BE(16)}x${png.readUInt32BE(20)}`;

async function roundTrips(url) {
  console.log('## Command round trips (in-process, one browser)\n');
  tableRow(['command', 'p50 ms', 'p90 ms', 'p99 ms', 'n']);
  tableRow(['---', '---', '---', '---', '---']);
  const entry = await launch();
  try {
    const page = await entry.browser.newPage();
    await page.goto(url, { waitUntil: 'load' });
    const viewport = pngSize(await page.screenshot({ type: 'png' }));
    const commands = [
      ['Evaluate 1+1', () => page.evaluate('1+1')],
      ['GetTitle', () => page.title()],
      ['FindElement #b', () => findButton(page)],
      ['Screenshot (viewport PNG)', () => page.screenshot({ type: 'png' }), { viewport }],
      ['Navigate (local page)', () => page.goto(url, { waitUntil: 'load' })],
    ];
    for (const [name, run, extra] of commands) {
      await run();
      const ms = [];
      for (let i = 0; i < samples; i++) ms.push(await timed(run));
      const s = stats(ms);
      tableRow([extra ? `${name} ${extra.viewport}` : name, s.p50_ms, s.p90_ms, s.p99_ms, s.n]);
      write('roundtrip', name, s, { pattern: 'in-process, one browser', ...extra });
    }
  } finally {
    await close(entry);
  }
}

// L browsers, one per worker (puppeteer-cluster's CONCURRENCY_BROWSER), each
// looking up #b back to back until the run time is up.
async function closedLoop(url, L) {
  const entries = [];
  try {
    await parallel(L, 2, async () => {
      const entry = await launch();
      entries.push(entry);
      entry.page = await entry.browser.newPage();
      await entry.page.goto(url, { waitUntil: 'load' });
    });
    const ms = [];
    let errors = 0;
    const started = performance.now();
    const until = started + runTimeMs;
    await Promise.all(
      entries.map(async ({ page }) => {
        while (performance.now() < until) {
          const t0 = performance.now();
          try {
            await findButton(page);
          } catch {
            errors++;
          }
          ms.push(performance.now() - t0);
        }
      }),
    );
    const perS = ms.length / ((performance.now() - started) / 1000);
    const s = stats(ms);
    tableRow([L, s.p50_ms, s.p90_ms, s.p99_ms, s.n, `${perS.toFixed(0)}/s`, errors]);
    write(
      'closed_loop',
      'FindElement #b',
      { windows: L, ...s, per_s: round(perS), errors },
      { pattern: 'browser per worker' },
    );
  } finally {
    await Promise.allSettled(entries.map(close));
  }
}

// A fresh browser for every task: what puppeteer users do without a pool.
async function perTask(url) {
  const name = 'launch, load, read title, close';
  const ms = [];
  const started = performance.now();
  await parallel(tasks, taskConcurrency, async () => {
    const t0 = performance.now();
    const entry = await launch();
    try {
      // The tab Firefox opens at start: a new one would only add work.
      const [page] = await entry.browser.pages();
      await page.goto(url, { waitUntil: 'load' });
      if ((await page.title()) !== 'bench') throw new Error('wrong title');
    } finally {
      await close(entry);
    }
    ms.push(performance.now() - t0);
  });
  const perS = ms.length / ((performance.now() - started) / 1000);
  const s = stats(ms);
  console.log(`\n## New browser per task (${taskConcurrency} at once)\n`);
  tableRow(['task', 'p50 ms', 'p90 ms', 'p99 ms', 'n', 'tasks/s']);
  tableRow(['---', '---', '---', '---', '---', '---']);
  tableRow([name, s.p50_ms, s.p90_ms, s.p99_ms, s.n, perS.toFixed(2)]);
  write(
    'per_task',
    name,
    { ...s, per_s: round(perS), concurrency: taskConcurrency },
    { pattern: 'new browser per task' },
  );
}

const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(PAGE);
});
await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/`;

try {
  await roundTrips(url);
  console.log(`\n## Closed loop: #b lookups, one browser per worker, ${runTimeMs / 1000} s\n`);
  tableRow(['browsers', 'p50 ms', 'p90 ms', 'p99 ms', 'n', 'throughput', 'errors']);
  tableRow(['---', '---', '---', '---', '---', '---', '---']);
  for (const L of windows) await closedLoop(url, L);
  await perTask(url);
} finally {
  killAll();
  server.close();
}
