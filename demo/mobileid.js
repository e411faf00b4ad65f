// Mobile-ID client: the wire protocol in one ES module, with WebCrypto and fetch alone (any
// current browser, Node 20+, Deno). Lift it into an app as it is; demo.js is only its UI.
//
//   const client = new MobileIdClient('https://mobileid.example.org');
//   await client.register();                                  // a session
//   await client.requestCode({ msisdn: '+33623456789', mcc: '208' });
//   await client.verifyCode('123456');                        // the code from the SMS
//   const keys = await generateKeyPair();
//   const cert = await client.signCertificate(keys.publicJwk, 3600);
//   const checked = await verifyCertificate(cert, await client.jwks(), { publicJwk: keys.publicJwk });
//
// Every authenticated request is Hawk-signed (with a payload hash), and every answer's
// Server-Authorization is checked before it is believed. Failures throw ApiError, which
// carries the status, the errno, Retry-After and a sentence saying what to do.

const enc = new TextEncoder();
const subtle = globalThis.crypto.subtle;

/** HKDF info of the session token (the original's, kept on the wire). */
const HKDF_INFO = 'identity.mozilla.com/picl/v1/sessionToken';

// ---------------------------------------------------------------------------------------------
// Encodings
// ---------------------------------------------------------------------------------------------

export const hex = (bytes) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');

function fromHex(text) {
  if (!/^([0-9a-f]{2})+$/i.test(text)) throw new TypeError('not hex');
  return Uint8Array.from(text.match(/../g), (pair) => parseInt(pair, 16));
}

const base64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)));

export function base64urlDecode(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(text.length / 4) * 4, '=');
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

// ---------------------------------------------------------------------------------------------
// Credentials and Hawk
// ---------------------------------------------------------------------------------------------

/**
 * The Hawk credentials of a session: HKDF-SHA256 (no salt) of the token, 64 bytes = id ‖ key.
 * The id goes as 64 hex characters; the key is used as its 64 hex characters too (the
 * original's convention), so the HMAC key is that ASCII text.
 */
export async function deriveCredentials(tokenHex) {
  const ikm = await subtle.importKey('raw', fromHex(tokenHex), 'HKDF', false, ['deriveBits']);
  const bits = await subtle.deriveBits(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: enc.encode(HKDF_INFO) },
    ikm,
    512,
  );
  const okm = new Uint8Array(bits);
  const id = hex(okm.slice(0, 32));
  const keyHex = hex(okm.slice(32));
  const key = await subtle.importKey('raw', enc.encode(keyHex), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
    'verify',
  ]);
  return { id, key };
}

/** Hawk's payload hash: SHA-256 of `hawk.1.payload\n<content type>\n<body>\n`, base64. */
export async function payloadHash(contentType, body) {
  const mime = contentType.split(';')[0].trim().toLowerCase();
  const digest = await subtle.digest('SHA-256', enc.encode(`hawk.1.payload\n${mime}\n${body}\n`));
  return base64(digest);
}

function normalized(type, { ts, nonce, method, resource, host, port, hash = '', ext = '' }) {
  return `hawk.1.${type}\n${ts}\n${nonce}\n${method.toUpperCase()}\n${resource}\n${host.toLowerCase()}\n${port}\n${hash}\n${ext}\n`;
}

async function mac(key, text) {
  return base64(await subtle.sign('HMAC', key, enc.encode(text)));
}

/** The request's parts as Hawk signs them. */
function artifacts(url, method) {
  const u = new URL(url);
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  return { method, resource: u.pathname + u.search, host: u.hostname, port };
}

/** The `Authorization` header of a Hawk request (with a payload hash when there is a body). */
export async function hawkHeader({ id, key, method, url, body, contentType = 'application/json', ts, nonce }) {
  const a = {
    ...artifacts(url, method),
    ts: String(ts ?? Math.floor(Date.now() / 1000)),
    nonce: nonce ?? hex(globalThis.crypto.getRandomValues(new Uint8Array(8))),
  };
  if (body !== undefined) a.hash = await payloadHash(contentType, body);
  const signature = await mac(key, normalized('header', a));
  const hashPart = a.hash ? `, hash="${a.hash}"` : '';
  return { header: `Hawk id="${id}", ts="${a.ts}", nonce="${a.nonce}"${hashPart}, mac="${signature}"`, artifacts: a };
}

/** `name="value"` attributes of a Hawk header. */
function hawkAttributes(header) {
  const out = {};
  for (const [, name, value] of (header || '').matchAll(/(\w+)="([^"]*)"/g)) out[name] = value;
  return out;
}

/**
 * Checks a Server-Authorization header against the request it answers: its MAC over the
 * request's ts and nonce, and (when it carries one) the hash of the response body.
 */
export async function checkServerAuthorization(key, requestArtifacts, header, responseBody, responseType) {
  if (!header || !header.startsWith('Hawk ')) return false;
  const attrs = hawkAttributes(header);
  if (!attrs.mac) return false;
  const expected = await mac(
    key,
    normalized('response', { ...requestArtifacts, hash: attrs.hash || '', ext: attrs.ext || '' }),
  );
  if (expected !== attrs.mac) return false;
  if (attrs.hash) return attrs.hash === (await payloadHash(responseType || '', responseBody));
  return true;
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/** What a person can do about an error, by errno (the API's errno table). */
export function adviceFor(status, errno) {
  switch (errno) {
    case 105: return 'Wrong code: check the SMS and type the code again.';
    case 106: case 107: case 108: return 'The request was refused as sent: correct the field the message names.';
    case 110: return 'Authentication failed: the session is gone or expired. Start again (register).';
    case 111: return 'This code expired, was already used or is locked after wrong tries: ask for a new code.';
    case 112: case 113: return 'The request body was refused: it must be small JSON with a Content-Length.';
    case 114: case 115: case 116: case 117: return 'Too many requests: wait until the countdown ends, then try again.';
    case 119: return 'The request body arrived too slowly: try again.';
    case 201: return 'The service is busy or a dependency failed: it will work again after the countdown.';
    case 999: return status === 404 ? 'No such route: check the API address.' : 'Internal error: try again later.';
    default: return status >= 500 ? 'The service failed: try again later.' : 'The request was refused.';
  }
}

export class ApiError extends Error {
  constructor({ status, errno, message, info, retryAfter }) {
    super(message || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.errno = errno;
    this.info = info;
    /** Seconds to wait (429 and 503), from Retry-After. */
    this.retryAfter = retryAfter;
    this.advice = status ? adviceFor(status, errno) : message;
  }
}

// ---------------------------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------------------------

export class MobileIdClient {
  /** @param {string} baseUrl the API, e.g. https://mobileid.example.org */
  constructor(baseUrl, { fetch: fetchImpl = globalThis.fetch.bind(globalThis), language } = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.fetch = fetchImpl;
    this.language = language;
    /** Server time minus ours, from the Timestamp header every answer carries. */
    this.clockOffset = 0;
    this.token = null;
    this.hawkId = null;
    this.key = null;
  }

  /** Resumes a session from its token (64 hex characters). */
  async useToken(tokenHex) {
    const { id, key } = await deriveCredentials(tokenHex);
    this.token = tokenHex;
    this.hawkId = id;
    this.key = key;
    return this;
  }

  async register() {
    const body = await this.#plain('POST', '/v1/msisdn/register');
    await this.useToken(body.msisdnSessionToken);
    return { token: this.token, hawkId: this.hawkId };
  }

  /** Which methods a network offers: `{verificationMethods, verificationDetails}`. */
  discover({ mcc, mnc, msisdn }) {
    return this.#plain('POST', '/v1/msisdn/discover', { mcc, mnc, msisdn });
  }

  /** SMS-MT: the service texts a code to `msisdn` (6 digits when `short`, else 32 hex). */
  async requestCode({ msisdn, mcc, mnc, short = true }) {
    await this.#hawk('POST', '/v1/msisdn/sms/mt/verify', { msisdn, mcc, mnc, shortVerificationCode: short });
  }

  /** SMS-MO: the text the device sends to discover's `moVerifier` number. */
  moText() {
    this.#needSession();
    return `/v1/msisdn/sms/momt/verify ${this.hawkId}`;
  }

  /** The code from the SMS: `{msisdn}` once verified. */
  verifyCode(code) {
    return this.#hawk('POST', '/v1/msisdn/sms/verify_code', { code: String(code).trim() });
  }

  /** An ES256 certificate binding `publicJwk` (P-256) to the verified number. */
  async signCertificate(publicJwk, duration = 3600) {
    const { kty, crv, x, y } = publicJwk;
    const body = await this.#hawk('POST', '/v1/certificate/sign', { duration, publicKey: { kty, crv, x, y } });
    return body.cert;
  }

  async unregister() {
    await this.#hawk('POST', '/v1/msisdn/unregister', {});
    this.token = this.hawkId = this.key = null;
  }

  /** The keys certificates are signed with. */
  jwks() {
    return this.#plain('GET', '/.well-known/jwks.json');
  }

  #needSession() {
    if (!this.key) throw new ApiError({ message: 'No session yet: register first.' });
  }

  async #send(method, path, text, headers) {
    let res;
    try {
      res = await this.fetch(this.baseUrl + path, { method, headers, body: text });
    } catch (e) {
      throw new ApiError({
        message: `The API at ${this.baseUrl} could not be reached (${e.message}): is it running, and does it allow this page's origin (CORS)?`,
      });
    }
    const ts = Number(res.headers.get('timestamp'));
    if (ts) this.clockOffset = ts - Math.floor(Date.now() / 1000);
    const raw = await res.text();
    return { res, raw, json: raw ? JSON.parse(raw) : null };
  }

  #error(res, json) {
    const header = Number(res.headers.get('retry-after'));
    return new ApiError({
      status: res.status,
      errno: json?.errno,
      message: json?.message,
      info: json?.info,
      retryAfter: header || json?.retryAfter,
    });
  }

  async #plain(method, path, body) {
    const headers = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const text = body === undefined ? undefined : JSON.stringify(body);
    const { res, json } = await this.#send(method, path, text, headers);
    if (!res.ok) throw this.#error(res, json);
    return json;
  }

  async #hawk(method, path, body, retried = false) {
    this.#needSession();
    const text = JSON.stringify(body);
    const url = this.baseUrl + path;
    const { header, artifacts: signed } = await hawkHeader({
      id: this.hawkId,
      key: this.key,
      method,
      url,
      body: text,
      ts: Math.floor(Date.now() / 1000) + this.clockOffset,
    });
    const headers = { accept: 'application/json', 'content-type': 'application/json', authorization: header };
    if (this.language) headers['accept-language'] = this.language;
    const { res, raw, json } = await this.#send(method, path, text, headers);
    // A stale timestamp: the challenge carries the server's time; sign again once with it.
    const challenge = hawkAttributes(res.headers.get('www-authenticate'));
    if (res.status === 401 && challenge.ts && !retried) {
      this.clockOffset = Number(challenge.ts) - Math.floor(Date.now() / 1000);
      return this.#hawk(method, path, body, true);
    }
    const serverAuth = res.headers.get('server-authorization');
    if (res.ok || serverAuth) {
      const genuine = await checkServerAuthorization(this.key, signed, serverAuth, raw, res.headers.get('content-type'));
      if (!genuine) {
        throw new ApiError({ message: `${path}: the answer's Server-Authorization does not verify: not believed.` });
      }
    }
    if (!res.ok) throw this.#error(res, json);
    return json ?? {};
  }
}

// ---------------------------------------------------------------------------------------------
// Keys and certificates
// ---------------------------------------------------------------------------------------------

/** A P-256 key pair for the certificate; the private key stays non-extractable. */
export async function generateKeyPair() {
  const pair = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  const { kty, crv, x, y } = await subtle.exportKey('jwk', pair.publicKey);
  return { privateKey: pair.privateKey, publicJwk: { kty, crv, x, y } };
}

/** A JWT's times in seconds: milliseconds (the original's unit) are recognised by size. */
const seconds = (t) => (typeof t === 'number' ? (t > 1e11 ? Math.floor(t / 1000) : t) : undefined);

/**
 * Verifies a certificate as a relying party would: the ES256 signature with the JWKS key named
 * by `kid`, the times, and (with `publicJwk`) that it binds that key. Reads the claims the
 * service has used over time: `phone_number`/`sub` and `cnf.jwk` (OpenID, RFC 7800), or
 * `verifiedMSISDN` and `public-key` (BrowserID); other claims are shown, not required.
 */
export async function verifyCertificate(cert, jwks, { publicJwk, now = Math.floor(Date.now() / 1000) } = {}) {
  const parts = String(cert).split('.');
  if (parts.length !== 3) throw new Error('not a compact JWS (three dot-separated parts)');
  const decode = (p) => JSON.parse(new TextDecoder().decode(base64urlDecode(p)));
  const header = decode(parts[0]);
  const claims = decode(parts[1]);
  if (header.alg !== 'ES256') throw new Error(`unexpected alg ${header.alg}`);
  const jwk = (jwks.keys || []).find((k) => k.kid === header.kid);
  if (!jwk) throw new Error(`no key with kid ${header.kid} in the JWKS`);
  const key = await subtle.importKey('jwk', { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  const valid = await subtle.verify(
    { name: 'ECDSA', hash: 'SHA-256' },
    key,
    base64urlDecode(parts[2]),
    enc.encode(`${parts[0]}.${parts[1]}`),
  );
  if (!valid) throw new Error('the signature does not verify');
  const exp = seconds(claims.exp);
  const iat = seconds(claims.iat);
  if (exp !== undefined && exp <= now) throw new Error(`expired at ${new Date(exp * 1000).toISOString()}`);
  const bound = claims.cnf?.jwk ?? claims['public-key'];
  if (publicJwk && !(bound && bound.x === publicJwk.x && bound.y === publicJwk.y)) {
    throw new Error('the certificate binds another key than ours');
  }
  const number = claims.phone_number ?? claims.verifiedMSISDN ?? (String(claims.sub || '').startsWith('+') ? claims.sub : undefined);
  return { header, claims, kid: header.kid, issuer: claims.iss, number, issuedAt: iat, expiresAt: exp };
}

// ---------------------------------------------------------------------------------------------
// Codes that fill themselves in
// ---------------------------------------------------------------------------------------------

/**
 * Waits for the code of an origin-bound SMS (`@<this domain> #<code>`) with WebOTP, where the
 * browser has it (Chrome on Android); resolves null elsewhere. iOS Safari fills an
 * `autocomplete="one-time-code"` input from the same SMS without any script.
 */
export async function waitForSmsCode(signal) {
  if (!('OTPCredential' in globalThis)) return null;
  try {
    const otp = await navigator.credentials.get({ otp: { transport: ['sms'] }, signal });
    return otp?.code ?? null;
  } catch {
    return null;
  }
}

/** The code in a text the service sent: it comes first in every text. */
export const codeInText = (text) => String(text).trim().split(/\s+/)[0];
