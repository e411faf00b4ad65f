// The demo client in headless Chromium against a live mobileid-local: both flows to a verified
// certificate, a wrong code showing the 105 message, a 429 showing its countdown.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { codeSentTo, collectConsole, launch, randomNumber, screenshot, startServer } from '../lib.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

async function openDemo(number) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const errors = collectConsole(page);
  await page.goto(`${server.url}/demo/`);
  await page.fill('#msisdn', number);
  // The page has found the local fake gateway: its local-only buttons are shown.
  await page.waitForSelector('#mt-fill', { state: 'visible' });
  return { page, errors };
}

async function certificateFor(page, number) {
  await page.click('#cert-get');
  await page.waitForSelector('#cert-result', { state: 'visible' });
  const status = await page.textContent('#cert-status');
  assert.match(status, /Certificate verified: ES256 signature by key \S+ of the JWKS/);
  assert.match(status, new RegExp(`binds this page's key to \\${number}`));
  const claims = await page.$$eval('#claims tr', (rows) => Object.fromEntries(
    rows.map((r) => [r.querySelector('th').textContent, r.querySelector('td').textContent]),
  ));
  // Tolerant of the claims a certificate carries: the number under one name or another.
  assert.ok(Object.values(claims).some((v) => v.includes(number)), JSON.stringify(claims));
  assert.ok('iss' in claims && 'exp' in claims, JSON.stringify(claims));
  return claims;
}

test('SMS-MT: the code typed from the SMS, then a verified certificate', async () => {
  const number = randomNumber();
  const { page, errors } = await openDemo(number);
  await page.click('#discover');
  await page.waitForFunction(() => document.querySelector('#methods').textContent.includes('sms/mt'));
  await page.click('#mt-send');
  await page.waitForSelector('#log li.ok:has-text("/v1/msisdn/sms/mt/verify → 204")');
  const code = await codeSentTo(server, number);
  assert.match(code, /^\d{6}$/);
  await page.fill('#code', code);
  await page.click('#mt-verify');
  await page.waitForFunction(() => document.querySelector('#verified').textContent.includes('is verified'));
  assert.equal(await page.textContent('#verified'), `✔ ${number} is verified for this session.`);
  await certificateFor(page, number);
  await screenshot(page, 'demo-sms-mt');
  assert.deepEqual(errors, []);
  await page.close();
});

test('SMS-MO: the text shown, the provider played locally, the code filled in', async () => {
  const number = randomNumber();
  const { page, errors } = await openDemo(number);
  await page.click('#mo-start');
  await page.waitForSelector('#mo-instructions', { state: 'visible' });
  const text = await page.textContent('#mo-text');
  assert.match(text, /^\/v1\/msisdn\/sms\/momt\/verify [0-9a-f]{64}$/);
  assert.match(await page.textContent('#mo-to'), /^\+\d+$/);
  await page.click('#mo-provider');
  await page.waitForFunction(() => /^[0-9a-f]{32}$/.test(document.querySelector('#mo-code').value));
  // The code in the field is the one the server texted back to the sender.
  assert.equal(await page.inputValue('#mo-code'), await codeSentTo(server, number));
  await page.click('#mo-verify');
  await page.waitForFunction(() => document.querySelector('#verified').textContent.includes('is verified'));
  await certificateFor(page, number);
  await screenshot(page, 'demo-sms-mo');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a wrong code shows errno 105 and what to do; asking again too soon shows a 429 countdown', async () => {
  const number = randomNumber();
  const { page } = await openDemo(number);
  await page.click('#mt-send');
  await page.waitForSelector('#log li.ok:has-text("/v1/msisdn/sms/mt/verify → 204")');
  const code = await codeSentTo(server, number);
  const wrong = code === '000000' ? '111111' : '000000';
  await page.fill('#code', wrong);
  await page.click('#mt-verify');
  await page.waitForSelector('#error', { state: 'visible' });
  assert.equal(await page.textContent('#error-title'), '400 · errno 105');
  assert.match(await page.textContent('#error-message'), /2 tries left/);
  assert.equal(await page.textContent('#error-advice'), 'Wrong code: check the SMS and type the code again.');
  await screenshot(page, 'demo-wrong-code');

  // A second code for the same number within 30 s: 429/115 with Retry-After.
  await page.click('#mt-send');
  await page.waitForFunction(() => document.querySelector('#error-title').textContent.startsWith('429'));
  assert.equal(await page.textContent('#error-title'), '429 · errno 115');
  assert.match(await page.textContent('#error-advice'), /wait until the countdown ends/);
  // Retry-After is the time left in the per-number window (windows are aligned to the clock).
  const first = Number((await page.textContent('#countdown')).match(/Retry in (\d+) s/)[1]);
  assert.ok(first >= 1 && first <= 30, `countdown starts at ${first}`);
  assert.equal(await page.isDisabled('#mt-send'), true, 'the button waits for the countdown');
  await screenshot(page, 'demo-429-countdown');
  if (first >= 2) {
    // It counts down, once a second.
    await page.waitForFunction(
      (start) => Number((document.querySelector('#countdown').textContent.match(/(\d+)/) || [])[1]) === start - 1,
      first,
    );
  }
  if (first <= 5) {
    await page.waitForFunction(() => document.querySelector('#countdown').textContent === 'You can retry now.');
    assert.equal(await page.isDisabled('#mt-send'), false, 'the button is back after the countdown');
  }
  // The right code still works after the wrong one.
  await page.fill('#code', code);
  await page.click('#mt-verify');
  await page.waitForFunction(() => document.querySelector('#verified').textContent.includes('is verified'));
  await page.close();
});
