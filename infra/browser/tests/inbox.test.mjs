// The fake gateway's page (/__sms__/): an SMS on first paint (even without JavaScript), the
// next one live, inbound callbacks with why they were ignored, and the token form.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { MobileIdClient } from '../../../demo/mobileid.js';
import { launch, randomNumber, screenshot, startServer } from '../lib.mjs';

let browser;
const servers = [];

before(async () => { browser = await launch(); });
after(async () => {
  await browser?.close();
  for (const s of servers) s.stop();
});

async function server(env) {
  const s = await startServer(env);
  servers.push(s);
  return s;
}

async function textACode(s, number) {
  const client = new MobileIdClient(s.url);
  await client.register();
  await client.requestCode({ msisdn: number, mcc: '208' });
  return client;
}

test('an SMS is on the first paint, the next one appears live, callbacks say why', async () => {
  const s = await server();
  const first = randomNumber();
  await textACode(s, first);

  // No script at all: what a person sees before any fetch.
  const still = await browser.newContext({ javaScriptEnabled: false });
  const bare = await still.newPage();
  await bare.goto(`${s.url}/__sms__/`);
  const row = await bare.textContent('#sms tbody tr');
  assert.match(row, new RegExp(`\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2} UTC.*\\${first}.*\\d{6} is your verification code\\.`));
  assert.doesNotMatch(await bare.textContent('#sms'), /No SMS yet/);
  await still.close();

  const page = await browser.newPage({ viewport: { width: 1200, height: 700 } });
  await page.goto(`${s.url}/__sms__/`);
  const second = randomNumber();
  await textACode(s, second);
  // A callback for a session that does not exist, sent twice with one messageId.
  const hawkId = 'ab'.repeat(32);
  const callback = `${s.url}/v1/msisdn/sms/momt/nexmo?msisdn=${second.slice(1)}&messageId=m-dup&text=/v1/msisdn/sms/momt/verify%20${hawkId}`;
  for (let i = 0; i < 2; i++) assert.deepEqual(await (await fetch(callback)).json(), {});
  await page.waitForSelector(`#sms tbody tr:first-child:has-text("${second}")`, { timeout: 5000 });
  await page.waitForSelector('#inbound tbody tr:has-text("ignored: duplicate messageId")', { timeout: 5000 });
  assert.equal(await page.locator('#inbound tbody tr:has-text("ignored: no such session")').count(), 1);
  assert.equal(await page.locator('#sms tbody tr').count(), 2);
  await screenshot(page, 'inbox-live');
  await page.close();
});

test('with MOBILEID_FAKE_SMS_TOKEN the page asks for the token, refuses a wrong one, reads with it', async () => {
  const s = await server({ MOBILEID_FAKE_SMS_TOKEN: 'inbox-token' });
  const number = randomNumber();
  await textACode(s, number);
  const page = await browser.newPage({ viewport: { width: 1200, height: 600 } });
  await page.goto(`${s.url}/__sms__/`);
  await page.waitForSelector('#token', { state: 'visible' });
  assert.doesNotMatch(await page.textContent('#sms'), /No SMS yet/);
  await page.fill('#token-value', 'wrong');
  await page.click('#token button');
  await page.waitForFunction(() => document.querySelector('#token-error').textContent.includes('errno 118'));
  assert.equal(await page.textContent('#token-error'), 'That token was refused (401, errno 118).');
  await page.fill('#token-value', 'inbox-token');
  await page.click('#token button');
  await page.waitForSelector(`#sms tbody tr:has-text("${number}")`);
  assert.equal(await page.isVisible('#token'), false);
  await screenshot(page, 'inbox-with-token');
  await page.close();
});
