"""Schemathesis hooks for Mobile-ID (loaded by infra/ci/stage-schemathesis.sh via SCHEMATHESIS_HOOKS).

1. Hawk signing, so that fuzzed bodies get past authentication: each Hawk-secured operation
   gets its own session (registered through the API, credentials derived by HKDF as a device
   does), in the state that lets its route go furthest: `sms/verify_code` with a code pending,
   `certificate/sign` with a verified number. A 401 (the session was unregistered, say) makes
   schemathesis fetch a new one. The request carries no payload hash (optional on the stage).
2. A check that every error answer is the JSON error body, whatever its status.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request

import schemathesis

BASE_URL = os.environ["MOBILEID_URL"].rstrip("/")
# A fictional number the stage table gives the fixed code 123456 (never sent, no rate limits).
TEST_NUMBER = "+12025550142"
TEST_CODE = "123456"
HKDF_INFO = b"identity.mozilla.com/picl/v1/sessionToken"


def hkdf_sha256(ikm: bytes, info: bytes, length: int) -> bytes:
    prk = hmac.new(b"\0" * 32, ikm, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def credentials(token_hex: str) -> tuple[str, str]:
    """(Hawk id as 64 hex characters, auth key as 64 hex characters) from a session token."""
    okm = hkdf_sha256(bytes.fromhex(token_hex), HKDF_INFO, 64)
    return okm[:32].hex(), okm[32:].hex()


def hawk_header(hawk_id: str, key_hex: str, method: str, url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    resource = parts.path + (f"?{parts.query}" if parts.query else "")
    ts, nonce = str(int(time.time())), secrets.token_hex(8)
    normalized = f"hawk.1.header\n{ts}\n{nonce}\n{method.upper()}\n{resource}\n{parts.hostname.lower()}\n{port}\n\n\n"
    # The key is used as its 64 hex characters, as the original's clients did.
    mac = base64.b64encode(hmac.new(key_hex.encode(), normalized.encode(), hashlib.sha256).digest()).decode()
    return f'Hawk id="{hawk_id}", ts="{ts}", nonce="{nonce}", mac="{mac}"'


def call(method: str, path: str, body: dict, creds: tuple[str, str] | None = None) -> tuple[int, bytes]:
    url = BASE_URL + path
    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if creds:
        headers["Authorization"] = hawk_header(*creds, method, url)
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def new_session(path: str) -> tuple[str, str]:
    status, body = call("POST", "/v1/msisdn/register", {})
    if status != 200:
        raise RuntimeError(f"register answered {status}: {body[:200]!r}")
    creds = credentials(json.loads(body)["msisdnSessionToken"])
    if path.endswith(("/sms/verify_code", "/certificate/sign")):
        status, body = call("POST", "/v1/msisdn/sms/mt/verify",
                            {"msisdn": TEST_NUMBER, "mcc": "310", "shortVerificationCode": True}, creds)
        if status != 204:
            raise RuntimeError(f"sms/mt/verify answered {status}: {body[:200]!r}")
    if path.endswith("/certificate/sign"):
        status, body = call("POST", "/v1/msisdn/sms/verify_code", {"code": TEST_CODE}, creds)
        if status != 200:
            raise RuntimeError(f"sms/verify_code answered {status}: {body[:200]!r}")
    return creds


def secured(ctx) -> bool:
    return bool(ctx.operation.definition.raw.get("security"))


@schemathesis.auth(cache_by_key=lambda case, ctx: ctx.operation.path)
class HawkSession:
    def get(self, case, ctx):
        return new_session(ctx.operation.path) if secured(ctx) else None

    def set(self, case, data, ctx):
        if data is None:
            return
        url = BASE_URL + case.formatted_path
        if case.query:
            url += "?" + urllib.parse.urlencode(case.query, doseq=True)
        case.headers = dict(case.headers or {})
        case.headers["Authorization"] = hawk_header(*data, case.method, url)


@schemathesis.check
def errors_are_json(ctx, response, case):
    """Every 4xx/5xx is `{code = status, errno, error, message, ...}` served as application/json."""
    if response.status_code < 400:
        return None
    content_type = (response.headers.get("content-type") or [""])[0].split(";")[0].strip()
    if content_type != "application/json":
        raise AssertionError(f"{response.status_code} answered as {content_type!r}, not application/json")
    try:
        body = json.loads(response.content)
    except ValueError as error:
        raise AssertionError(f"{response.status_code} body is not JSON: {error}") from None
    if not isinstance(body, dict) or body.get("code") != response.status_code:
        raise AssertionError(f"{response.status_code} body has no matching code: {body!r:.200}")
    if not isinstance(body.get("errno"), int) or not isinstance(body.get("message"), str):
        raise AssertionError(f"{response.status_code} body lacks errno or message: {body!r:.200}")
    return None
