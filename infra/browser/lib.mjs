// Shared by the browser tests: a fresh mobileid-local per test file (so that per-number and
// per-address limits of one file never reach another), headless Chromium through
// playwright-core (Debian's /usr/bin/chromium, never a downloaded browser), and screenshots
// kept under BROWSER_TEST_OUT.

import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TOOLS = process.env.BROWSER_TOOLS_DIR || join(ROOT, '.tools/browser');
export const OUT = process.env.BROWSER_TEST_OUT || join(ROOT, '.tools/browser-tests');
const BIN = process.env.MOBILEID_LOCAL_BIN || join(ROOT, 'target/debug/mobileid-local');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const { chromium } = await import(join(TOOLS, 'node_modules/playwright-core/index.mjs'));

export async function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

/** Starts mobileid-local on a free port; resolves when it listens. `stop()` ends it. */
export async function startServer(env = {}) {
  const port = await freePort();
  const child = spawn(BIN, ['--listen', `127.0.0.1:${port}`], {
    env: { ...process.env, RUST_LOG: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`mobileid-local did not start:\n${output}`)), 20_000);
    const read = (chunk) => {
      output += chunk;
      if (output.includes('listening on')) { clearTimeout(timer); ok(); }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('exit', (code) => { clearTimeout(timer); fail(new Error(`mobileid-local exited (${code}):\n${output}`)); });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    log: () => output,
    stop: () => { child.removeAllListeners('exit'); child.kill('SIGTERM'); },
  };
}

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Playwright gives every launch a fresh temporary profile (--user-data-dir) of its own.
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync',
    ],
  });
}

export async function screenshot(page, name) {
  mkdirSync(OUT, { recursive: true });
  const path = join(OUT, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** A French mobile number no other test uses (per-number limits are per process anyway). */
export function randomNumber() {
  return `+3361${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
}

/** The code in the newest SMS the server sent to `e164`, read as a person reads the SMS. */
export async function codeSentTo(server, e164, { after = 0, headers = {} } = {}) {
  const to = e164.replace(/[^0-9]/g, '');
  for (let i = 0; i < 50; i++) {
    const res = await fetch(`${server.url}/__sms__/receive?to=${to}`, { headers });
    const messages = await res.json();
    if (messages.length > after) return messages.at(-1).text.split(/\s+/)[0];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no SMS to ${e164}`);
}

/** Fails the test with the page's console errors when a step times out. */
export function collectConsole(page) {
  const lines = [];
  page.on('console', (m) => { if (m.type() === 'error') lines.push(m.text()); });
  page.on('pageerror', (e) => lines.push(String(e)));
  return lines;
}
