// The demo page's UI. Everything protocol-related is in mobileid.js; this file only wires it
// to the page. `?api=<url>` points the page at another server (the default: where it is served).

import {
  ApiError,
  MobileIdClient,
  codeInText,
  generateKeyPair,
  verifyCertificate,
  waitForSmsCode,
} from './mobileid.js';

const $ = (id) => document.getElementById(id);
const api = (new URLSearchParams(location.search).get('api') || location.origin).replace(/\/+$/, '');
$('api').textContent = api;

// Every request the client makes, logged with its answer's status.
async function loggedFetch(url, init = {}) {
  const path = url.startsWith(api) ? url.slice(api.length) : url;
  const item = document.createElement('li');
  item.textContent = `${init.method || 'GET'} ${path.split('?')[0]} …`;
  $('log').appendChild(item);
  try {
    const res = await fetch(url, init);
    item.textContent = `${init.method || 'GET'} ${path.split('?')[0]} → ${res.status}`;
    item.className = res.ok ? 'ok' : 'failed';
    return res;
  } catch (e) {
    item.textContent = `${init.method || 'GET'} ${path.split('?')[0]} → network error`;
    item.className = 'failed';
    throw e;
  }
}

const newClient = async () => {
  const client = new MobileIdClient(api, { fetch: loggedFetch, language: navigator.language });
  await client.register();
  return client;
};

let mtClient = null; // the session that asked for the SMS-MT code
let moClient = null; // the session whose Hawk id is in the SMS-MO text
let verifiedClient = null;

// ---------------------------------------------------------------------------------------------
// Errors: status, errno, what to do, and a countdown for 429 and 503.
// ---------------------------------------------------------------------------------------------
let countdownTimer = null;

function clearError() {
  $('error').hidden = true;
  clearInterval(countdownTimer);
}

function showError(e, button) {
  const box = $('error');
  box.hidden = false;
  if (e instanceof ApiError && e.status) {
    $('error-title').textContent = `${e.status} · errno ${e.errno ?? '?'}`;
    $('error-message').textContent = e.message + (e.info ? ` (${e.info})` : '');
  } else {
    $('error-title').textContent = 'Error';
    $('error-message').textContent = e.message;
  }
  $('error-advice').textContent = e instanceof ApiError ? e.advice : '';
  clearInterval(countdownTimer);
  const countdown = $('countdown');
  countdown.hidden = !e.retryAfter;
  if (e.retryAfter) {
    let left = e.retryAfter;
    if (button) button.disabled = true;
    const tick = () => {
      countdown.textContent = `Retry in ${left} s`;
      if (left-- <= 0) {
        clearInterval(countdownTimer);
        countdown.textContent = 'You can retry now.';
        if (button) button.disabled = false;
      }
    };
    tick();
    countdownTimer = setInterval(tick, 1000);
  }
}

/** Runs a button's action, showing any error; the button is busy meanwhile. */
function action(button, fn) {
  button.addEventListener('click', async (event) => {
    event.preventDefault();
    clearError();
    button.disabled = true;
    let failed = null;
    try {
      await fn();
    } catch (e) {
      failed = e;
      showError(e, button);
    } finally {
      if (!failed?.retryAfter) button.disabled = false;
    }
  });
}

const form = (id, button) => $(id).addEventListener('submit', (e) => { e.preventDefault(); button.click(); });

// ---------------------------------------------------------------------------------------------
// The local server's fake gateway (absent elsewhere: the local-only buttons stay hidden).
// ---------------------------------------------------------------------------------------------
const digits = () => $('msisdn').value.replace(/[^0-9]/g, '');
let local = false;

async function inbox() {
  const res = await fetch(`${api}/__sms__/receive?to=${digits()}`);
  if (!res.ok) throw new ApiError({ message: `The local inbox answered ${res.status}.` });
  return res.json();
}

/** The newest SMS to our number, waiting (up to 5 s) for one sent after `since`. */
async function newestCode(since = 0) {
  for (let i = 0; i < 50; i++) {
    const messages = await inbox();
    const last = messages[messages.length - 1];
    if (last && last.timestamp >= since) return codeInText(last.text);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new ApiError({ message: 'No SMS arrived in the local inbox.' });
}

(async () => {
  try {
    local = (await fetch(`${api}/__sms__/receive?to=0`)).ok;
  } catch { /* not reachable: the first action says why */ }
  $('where').textContent = local ? '(local server: SMS go to its fake gateway)' : '';
  for (const el of document.querySelectorAll('.local-only')) el.hidden = !local;
})();

// ---------------------------------------------------------------------------------------------
// The flows
// ---------------------------------------------------------------------------------------------
const now = () => Math.floor(Date.now() / 1000);
const network = () => ({ msisdn: $('msisdn').value.trim(), mcc: $('mcc').value.trim() });

action($('discover'), async () => {
  const client = new MobileIdClient(api, { fetch: loggedFetch });
  const found = await client.discover(network());
  const mo = found.verificationDetails['sms/momt'];
  $('methods').textContent = `Methods: ${found.verificationMethods.join(', ')}` +
    (mo ? ` — SMS-MO number ${mo.moVerifier}` : '');
});

let otpAbort = null;
action($('mt-send'), async () => {
  mtClient = mtClient && !mtClient.used ? mtClient : await newClient();
  await mtClient.requestCode(network());
  $('code').focus();
  // Where the browser reads origin-bound SMS (WebOTP), the code fills itself in.
  otpAbort?.abort();
  otpAbort = new AbortController();
  waitForSmsCode(otpAbort.signal).then((code) => {
    if (code) { $('code').value = code; $('mt-verify').click(); }
  });
});

action($('mt-fill'), async () => {
  $('code').value = await newestCode();
});

async function verify(client, code) {
  if (!client) throw new ApiError({ message: 'Start a flow first.' });
  const { msisdn } = await client.verifyCode(code);
  client.used = true;
  verifiedClient = client;
  otpAbort?.abort();
  $('verified').textContent = `✔ ${msisdn} is verified for this session.`;
  $('cert-get').disabled = false;
}

action($('mt-verify'), () => verify(mtClient, $('code').value));
form('mt-form', $('mt-verify'));

action($('mo-start'), async () => {
  moClient = await newClient();
  const client = new MobileIdClient(api, { fetch: loggedFetch });
  const found = await client.discover({ mcc: $('mcc').value.trim() });
  const mo = found.verificationDetails['sms/momt'];
  if (!mo) throw new ApiError({ message: 'This network offers no SMS-MO: use SMS-MT.' });
  $('mo-to').textContent = mo.moVerifier;
  $('mo-text').textContent = moClient.moText();
  $('mo-instructions').hidden = false;
});

// Locally, the provider's inbound-SMS callback is ours to make: the sender is the number above.
action($('mo-provider'), async () => {
  const since = now() - 1;
  const params = new URLSearchParams({
    msisdn: digits(),
    messageId: `demo-${crypto.randomUUID()}`,
    text: moClient.moText(),
  });
  const res = await loggedFetch(`${api}/v1/msisdn/sms/momt/nexmo?${params}`);
  if (!res.ok) throw new ApiError({ message: `The webhook answered ${res.status}.` });
  $('mo-code').value = await newestCode(since);
});

action($('mo-verify'), () => verify(moClient, $('mo-code').value));
form('mo-form', $('mo-verify'));

action($('cert-get'), async () => {
  const keys = await generateKeyPair();
  const cert = await verifiedClient.signCertificate(keys.publicJwk, 3600);
  const checked = await verifyCertificate(cert, await verifiedClient.jwks(), { publicJwk: keys.publicJwk });
  $('cert').textContent = cert;
  $('cert-status').textContent =
    `✔ Certificate verified: ES256 signature by key ${checked.kid} of the JWKS; it binds this page's key` +
    ` to ${checked.number}` + (checked.expiresAt ? `, until ${new Date(checked.expiresAt * 1000).toLocaleString()}.` : '.');
  const rows = Object.entries(checked.claims).map(([name, value]) => {
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    th.textContent = name;
    const td = document.createElement('td');
    td.textContent = typeof value === 'object' ? JSON.stringify(value) : String(value);
    tr.append(th, td);
    return tr;
  });
  $('claims').tBodies[0].replaceChildren(...rows);
  $('cert-result').hidden = false;
});
