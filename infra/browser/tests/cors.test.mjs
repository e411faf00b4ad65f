// CORS from a real browser: the demo's static files served by another server, on another
// origin, calling the API cross-origin. The local server allows http://localhost:<any port>,
// so the SMS-MT flow runs to a verified certificate from there; from http://127.0.0.1:<other
// port> (not allowed) the browser blocks the calls and the page says why.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join } from 'node:path';
import { after, before, test } from 'node:test';

import { ROOT, codeSentTo, collectConsole, launch, randomNumber, screenshot, startServer } from '../lib.mjs';

let api;
let browser;
let statics;

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

before(async () => {
  api = await startServer();
  browser = await launch();
  // demo/ as plain static files: what "shippable as static files" means.
  statics = createServer(async (req, res) => {
    const name = new URL(req.url, 'http://x').pathname.replace(/^\/+/, '') || 'index.html';
    try {
      const body = await readFile(join(ROOT, 'demo', name.replace(/\.\.+/g, '')));
      res.writeHead(200, { 'content-type': TYPES[extname(name)] || 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => statics.listen(0, '127.0.0.1', ok));
});

after(async () => {
  await browser?.close();
  statics?.close();
  api?.stop();
});

test('a page on http://localhost:<port> runs SMS-MT to a verified certificate cross-origin', async () => {
  const { port } = statics.address();
  // Chromium resolves localhost to loopback itself; the static server listens on 127.0.0.1.
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = collectConsole(page);
  const number = randomNumber();
  await page.goto(`http://localhost:${port}/index.html?api=${encodeURIComponent(api.url)}`);
  assert.equal(await page.evaluate(() => location.origin), `http://localhost:${port}`);
  assert.equal(await page.textContent('#api'), api.url);
  await page.fill('#msisdn', number);
  await page.click('#mt-send');
  await page.waitForSelector('#log li.ok:has-text("/v1/msisdn/sms/mt/verify → 204")');
  await page.fill('#code', await codeSentTo(api, number));
  await page.click('#mt-verify');
  await page.waitForFunction(() => document.querySelector('#verified').textContent.includes('is verified'));
  await page.click('#cert-get');
  await page.waitForSelector('#cert-result', { state: 'visible' });
  assert.match(await page.textContent('#cert-status'), /Certificate verified/);
  await screenshot(page, 'cors-localhost-origin');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a page on an origin the server does not allow is blocked, and says so', async () => {
  const { port } = statics.address();
  const page = await browser.newPage();
  const errors = collectConsole(page);
  await page.goto(`http://127.0.0.1:${port}/index.html?api=${encodeURIComponent(api.url)}`);
  await page.click('#discover');
  await page.waitForSelector('#error', { state: 'visible' });
  assert.match(await page.textContent('#error-message'), /could not be reached .*CORS/);
  assert.ok(errors.some((e) => /CORS policy/.test(e)), errors.join('\n'));
  await screenshot(page, 'cors-blocked-origin');
  await page.close();
});
