#!/usr/bin/env python3
"""Hawk interop check: a third-party Hawk client (Python `mohawk`) drives the SMS-MT flow of a
running Mobile-ID server (the local server, `mobileid-local`, with its built-in fake SMS gateway).

Usage: python hawk_interop.py http://127.0.0.1:PORT

Needs `mohawk` and `requests` (infra/test.sh installs them in .tools/venv). HKDF is implemented
here with hmac/hashlib (RFC 5869) so that the credential derivation is checked independently of
the server's code. Prints one line per step and a final "interop: N passed, M failed" line; exits
non-zero at the first deviation from the contract, with the offending response.
"""

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import sys
import time
from importlib.metadata import PackageNotFoundError, version as _pkg_version
from urllib.parse import urlsplit

try:
    import mohawk
    import requests
except ImportError as exc:  # pragma: no cover - environment problem
    sys.exit(f"interop: missing Python package ({exc}); run it with .tools/venv/bin/python "
             "(infra/test.sh installs mohawk and requests there)")

# mohawk warns on every response it accepts without a nonce callback ("seen_nonce was None");
# nonce tracking is the server's job here, so keep its log quiet.
logging.getLogger("mohawk").setLevel(logging.ERROR)

JSON = "application/json"
HKDF_INFO = b"identity.mozilla.com/picl/v1/sessionToken"
HTTP_TIMEOUT = 10  # seconds per request
SMS_WAIT = 5.0  # seconds to wait for the SMS in the fake gateway

# Any fixed valid P-256 point will do: this is the curve's generator G.
PUBLIC_KEY = {
    "kty": "EC",
    "crv": "P-256",
    "x": "axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY",
    "y": "T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU",
}


def _version(pkg: str) -> str:
    try:
        return _pkg_version(pkg)
    except PackageNotFoundError:
        return "?"


class Deviation(Exception):
    """The server did not behave as the contract says."""


# ---------------------------------------------------------------------------
# HKDF (RFC 5869) and the Mobile-ID credential derivation
# ---------------------------------------------------------------------------

def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    if not salt:
        salt = b"\x00" * hashlib.sha256().digest_size
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    okm, block, counter = b"", b"", 1
    while len(okm) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        okm += block
        counter += 1
    return okm[:length]


def hawk_credentials(session_token_hex: str) -> dict:
    """msisdnSessionToken -> Hawk credentials: id = hex(okm[:32]); the key is hex(okm[32:]),
    used as its 64 ASCII characters (not the decoded bytes)."""
    okm = hkdf_sha256(bytes.fromhex(session_token_hex), b"", HKDF_INFO, 64)
    return {"id": okm[:32].hex(), "key": okm[32:].hex(), "algorithm": "sha256"}


def check_hkdf_vectors() -> None:
    # RFC 5869, appendix A.1 (checks the HKDF implementation itself).
    okm = hkdf_sha256(bytes([0x0B] * 22), bytes(range(0x0D)), bytes(range(0xF0, 0xFA)), 42)
    expected = ("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                "34007208d5b887185865")
    if okm.hex() != expected:
        raise Deviation(f"HKDF RFC 5869 A.1 vector: got {okm.hex()}, expected {expected}")
    # RFC 5869, appendix A.3 (no salt, no info).
    okm = hkdf_sha256(bytes([0x0B] * 22), b"", b"", 42)
    expected = ("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
                "9d201395faa4b61a96c8")
    if okm.hex() != expected:
        raise Deviation(f"HKDF RFC 5869 A.3 vector: got {okm.hex()}, expected {expected}")
    # Mobile-ID reference vector: token = bytes 0xa0..0xbf.
    creds = hawk_credentials(bytes(range(0xA0, 0xC0)).hex())
    want_id = "c0a29dcf46174973da1378696e4c82ae10f723cf4f4d9f75e39f4ae3851595ab"
    want_key = "9d8f22998ee7f5798b887042466b72d53e56ab0c094388bf65831f702d2febc0"
    if creds["id"] != want_id or creds["key"] != want_key:
        raise Deviation(f"session-token vector: got id {creds['id']} key {creds['key']}, "
                        f"expected id {want_id} key {want_key}")


# ---------------------------------------------------------------------------
# HTTP helpers
# ---------------------------------------------------------------------------

def b64url_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def describe(r: requests.Response) -> str:
    interesting = ("Content-Type", "Server-Authorization", "WWW-Authenticate", "Retry-After")
    hdrs = {k: r.headers[k] for k in interesting if k in r.headers}
    body = r.text
    if len(body) > 600:
        body = body[:600] + "..."
    return f"HTTP {r.status_code} {r.reason}; headers {hdrs}; body {body!r}"


class Api:
    def __init__(self, base_url: str):
        self.base = base_url.rstrip("/")
        self.session = requests.Session()

    def request(self, method: str, path: str, body: bytes = None, headers: dict = None):
        try:
            return self.session.request(method, self.base + path, data=body,
                                        headers=headers or {}, timeout=HTTP_TIMEOUT,
                                        allow_redirects=False)
        except requests.RequestException as exc:
            raise Deviation(f"{method} {path}: request failed: {exc}") from None

    def post_json(self, path: str, obj) -> requests.Response:
        body = json.dumps(obj, separators=(",", ":")).encode()
        return self.request("POST", path, body, {"Content-Type": JSON})

    def hawk_post(self, path: str, obj, creds: dict, send_body: bytes = None,
                  edit_header=None, **hawk_options):
        """POST obj as JSON with a Hawk header that carries a payload hash of that body.
        send_body, when given, is sent instead of the signed body (tampering test);
        edit_header(header) -> header changes the header after signing; hawk_options go to
        mohawk.Sender (app, dlg, ext). Returns (sender, signed_body, authorization_header,
        response)."""
        body = json.dumps(obj, separators=(",", ":")).encode()
        sender = mohawk.Sender(creds, self.base + path, "POST", content=body, content_type=JSON,
                               **hawk_options)
        auth = sender.request_header
        if "hash=" not in auth:
            raise Deviation(f"mohawk made a header without a payload hash: {auth}")
        if edit_header is not None:
            auth = edit_header(auth)
        r = self.request("POST", path, body if send_body is None else send_body,
                         {"Content-Type": JSON, "Authorization": auth})
        return sender, body, auth, r

    def resend(self, path: str, body: bytes, auth: str) -> requests.Response:
        return self.request("POST", path, body, {"Content-Type": JSON, "Authorization": auth})


def expect_status(r: requests.Response, status: int, what: str) -> None:
    if r.status_code != status:
        raise Deviation(f"{what}: expected HTTP {status}, got {describe(r)}")


def expect_json(r: requests.Response, what: str):
    ctype = r.headers.get("Content-Type", "")
    if not ctype.split(";")[0].strip().lower() == JSON:
        raise Deviation(f"{what}: expected Content-Type {JSON}, got {describe(r)}")
    try:
        return r.json()
    except ValueError:
        raise Deviation(f"{what}: body is not JSON: {describe(r)}") from None


def expect_error(r: requests.Response, status: int, errno: int, what: str) -> dict:
    expect_status(r, status, what)
    err = expect_json(r, what)
    if not isinstance(err, dict) or err.get("code") != status or err.get("errno") != errno:
        raise Deviation(f"{what}: expected an error body {{code: {status}, errno: {errno}, ...}}, "
                        f"got {describe(r)}")
    return err


def expect_401(r: requests.Response, what: str) -> None:
    expect_error(r, 401, 110, what)


def verify_server_authorization(sender: "mohawk.Sender", r: requests.Response, what: str) -> None:
    header = r.headers.get("Server-Authorization")
    if not header:
        raise Deviation(f"{what}: no Server-Authorization header on a Hawk-authenticated "
                        f"response: {describe(r)}")
    try:
        # The server's response MAC carries no payload hash: accept the body without one
        # (mohawk still checks a hash if the header has one).
        sender.accept_response(header, content=r.content,
                               content_type=r.headers.get("Content-Type", ""),
                               accept_untrusted_content=True)
    except Exception as exc:  # mohawk.exc.HawkFail and header parse errors
        raise Deviation(f"{what}: mohawk rejected Server-Authorization {header!r}: "
                        f"{type(exc).__name__}: {exc}") from None


# ---------------------------------------------------------------------------
# The flow
# ---------------------------------------------------------------------------

class Flow:
    def __init__(self, base_url: str):
        self.api = Api(base_url)
        # French mobile number (+33 6 + 8 digits) with random last digits, so that reruns
        # against the same server do not trip the per-number rate limits.
        self.msisdn = "+3361" + f"{secrets.randbelow(10 ** 7):07d}"
        self.token = None
        self.creds = None
        self.sms_seen = set()
        self.code = None
        self.sign_request = None  # (body, authorization) of a successful /certificate/sign

    def steps(self):
        return [
            ("hkdf reference vectors (RFC 5869 + session token)", self.hkdf),
            ("register", self.register),
            ("mt/verify (payload hash, Server-Authorization)", self.mt_verify),
            ("sms received by the fake gateway", self.read_sms),
            ("verify_code (payload hash, Server-Authorization)", self.verify_code),
            ("certificate/sign (payload hash, Server-Authorization, verifiedMSISDN)", self.sign),
            ("replayed Authorization header rejected (401)", self.replay),
            ("tampered body with the original payload hash rejected (401)", self.tampered),
            ("certificate/sign again with a fresh nonce (control)", self.sign_again),
            ("certificate/sign with app and dlg (in the MAC, and in Server-Authorization)",
             self.sign_with_app_dlg),
            ("app or dlg altered after signing rejected (401)", self.altered_app_dlg),
            ("app and dlg added to a header signed without them rejected (401)", self.added_app_dlg),
            ("duplicate attribute rejected (400 Bad header format)", self.duplicate_attribute),
            ("unregister (payload hash, Server-Authorization)", self.unregister),
            ("credentials rejected after unregister (401)", self.after_unregister),
        ]

    def hkdf(self):
        check_hkdf_vectors()

    def register(self):
        r = self.api.post_json("/v1/msisdn/register", {})
        expect_status(r, 200, "POST /v1/msisdn/register")
        body = expect_json(r, "POST /v1/msisdn/register")
        token = body.get("msisdnSessionToken") if isinstance(body, dict) else None
        if not isinstance(token, str) or not re.fullmatch(r"[0-9a-f]{64}", token):
            raise Deviation("POST /v1/msisdn/register: expected {\"msisdnSessionToken\": "
                            f"<64 lowercase hex>}}, got {describe(r)}")
        self.token = token
        self.creds = hawk_credentials(token)

    def _sms_inbox(self, what):
        to = self.msisdn.lstrip("+")
        r = self.api.request("GET", f"/__sms__/receive?to={to}")
        expect_status(r, 200, what)
        msgs = expect_json(r, what)
        if not isinstance(msgs, list) or not all(isinstance(m, dict) for m in msgs):
            raise Deviation(f"{what}: expected a JSON list of messages, got {describe(r)}")
        return msgs

    @staticmethod
    def _sms_key(m):
        return json.dumps(m, sort_keys=True)

    def mt_verify(self):
        # Whatever the gateway already holds for this number is not the SMS we are waiting for.
        before = self._sms_inbox("GET /__sms__/receive (before mt/verify)")
        self.sms_seen = {self._sms_key(m) for m in before}
        what = "POST /v1/msisdn/sms/mt/verify"
        sender, _, _, r = self.api.hawk_post(
            "/v1/msisdn/sms/mt/verify",
            {"msisdn": self.msisdn, "mcc": "208", "shortVerificationCode": True},
            self.creds)
        expect_status(r, 204, what)
        verify_server_authorization(sender, r, what)

    def read_sms(self):
        what = "GET /__sms__/receive"
        deadline = time.monotonic() + SMS_WAIT
        while True:
            new = [m for m in self._sms_inbox(what) if self._sms_key(m) not in self.sms_seen]
            if new:
                msg = new[-1]  # newest last
                break
            if time.monotonic() > deadline:
                raise Deviation(f"{what}?to={self.msisdn.lstrip('+')}: no new SMS for "
                                f"{self.msisdn} within {SMS_WAIT:.0f} s")
            time.sleep(0.1)
        text, to = msg.get("text"), msg.get("to")
        if not isinstance(text, str):
            raise Deviation(f"{what}: message without a text: {msg!r}")
        if not isinstance(to, str) or to.lstrip("+") != self.msisdn.lstrip("+"):
            raise Deviation(f"{what}: message addressed to {to!r}, expected {self.msisdn}: {msg!r}")
        m = re.match(r"([0-9]{6})(?![0-9A-Za-z])", text)  # the code comes first in every text
        if not m:
            raise Deviation(f"{what}: no 6-digit short code at the start of the SMS text {text!r}")
        self.code = m.group(1)

    def verify_code(self):
        what = "POST /v1/msisdn/sms/verify_code"
        sender, _, _, r = self.api.hawk_post("/v1/msisdn/sms/verify_code",
                                             {"code": self.code}, self.creds)
        expect_status(r, 200, what)
        body = expect_json(r, what)
        if not isinstance(body, dict) or body.get("msisdn") != self.msisdn:
            raise Deviation(f"{what}: expected {{\"msisdn\": \"{self.msisdn}\"}}, got {describe(r)}")
        verify_server_authorization(sender, r, what)

    def _sign(self, what):
        sender, body, auth, r = self.api.hawk_post(
            "/v1/certificate/sign", {"publicKey": PUBLIC_KEY, "duration": 3600}, self.creds)
        expect_status(r, 200, what)
        resp = expect_json(r, what)
        cert = resp.get("cert") if isinstance(resp, dict) else None
        if not isinstance(cert, str) or cert.count(".") != 2:
            raise Deviation(f"{what}: expected {{\"cert\": \"<header>.<payload>.<sig>\"}}, "
                            f"got {describe(r)}")
        head_b64, payload_b64, sig_b64 = cert.split(".")
        try:
            header = json.loads(b64url_decode(head_b64))
            payload = json.loads(b64url_decode(payload_b64))
            sig = b64url_decode(sig_b64)
        except ValueError as exc:
            raise Deviation(f"{what}: the certificate does not decode ({exc}): {cert!r}") from None
        if not isinstance(header, dict) or header.get("alg") != "ES256":
            raise Deviation(f"{what}: expected a JWS header with alg ES256, got {header!r}")
        if len(sig) != 64:
            raise Deviation(f"{what}: an ES256 signature is 64 bytes (r||s), got {len(sig)}")
        if not isinstance(payload, dict) or payload.get("verifiedMSISDN") != self.msisdn:
            raise Deviation(f"{what}: expected verifiedMSISDN {self.msisdn} in the certificate, "
                            f"got payload {payload!r}")
        verify_server_authorization(sender, r, what)
        return body, auth

    def sign(self):
        self.sign_request = self._sign("POST /v1/certificate/sign")

    def replay(self):
        body, auth = self.sign_request
        r = self.api.resend("/v1/certificate/sign", body, auth)
        if r.status_code == 200:
            raise Deviation("POST /v1/certificate/sign replayed with the same Authorization header "
                            "(same nonce and ts) was accepted: no nonce replay protection; "
                            + describe(r))
        expect_401(r, "replayed POST /v1/certificate/sign")

    def tampered(self):
        tampered = json.dumps({"publicKey": PUBLIC_KEY, "duration": 60},
                              separators=(",", ":")).encode()
        _, _, _, r = self.api.hawk_post("/v1/certificate/sign",
                                        {"publicKey": PUBLIC_KEY, "duration": 3600},
                                        self.creds, send_body=tampered)
        if r.status_code == 200:
            raise Deviation("POST /v1/certificate/sign with a body that does not match the "
                            "header's payload hash was accepted: the hash is not checked; "
                            + describe(r))
        expect_401(r, "tampered POST /v1/certificate/sign")

    def sign_again(self):
        # Shows that the two 401s above came from the replay and the tampering, not from
        # credentials that stopped working.
        self._sign("POST /v1/certificate/sign (fresh nonce)")

    APP = {"app": "demo-app", "dlg": "d1"}

    def sign_with_app_dlg(self):
        what = "POST /v1/certificate/sign (app, dlg)"
        sender, _, auth, r = self.api.hawk_post(
            "/v1/certificate/sign", {"publicKey": PUBLIC_KEY, "duration": 60}, self.creds,
            **self.APP)
        if 'app="demo-app"' not in auth or 'dlg="d1"' not in auth:
            raise Deviation(f"mohawk made a header without app/dlg: {auth}")
        expect_status(r, 200, what)
        verify_server_authorization(sender, r, what)

    def altered_app_dlg(self):
        for old, new in (('dlg="d1"', 'dlg="d2"'), ('app="demo-app"', 'app="other-app"')):
            _, _, _, r = self.api.hawk_post(
                "/v1/certificate/sign", {"publicKey": PUBLIC_KEY, "duration": 60}, self.creds,
                edit_header=lambda h: h.replace(old, new), **self.APP)
            err = expect_error(r, 401, 110, f"POST /v1/certificate/sign with {new}")
            if err.get("message") != "Bad mac":
                raise Deviation(f"{new}: expected message 'Bad mac', got {describe(r)}")

    def added_app_dlg(self):
        _, _, _, r = self.api.hawk_post(
            "/v1/certificate/sign", {"publicKey": PUBLIC_KEY, "duration": 60}, self.creds,
            edit_header=lambda h: h + ', app="demo-app", dlg="d1"')
        err = expect_error(r, 401, 110, "POST /v1/certificate/sign with app/dlg added")
        if err.get("message") != "Bad mac":
            raise Deviation(f"app/dlg added: expected message 'Bad mac', got {describe(r)}")

    def duplicate_attribute(self):
        _, _, _, r = self.api.hawk_post(
            "/v1/certificate/sign", {"publicKey": PUBLIC_KEY, "duration": 60}, self.creds,
            edit_header=lambda h: h + ', nonce="again"')
        err = expect_error(r, 400, 110, "POST /v1/certificate/sign with a duplicate nonce")
        if err.get("message") != "Bad header format":
            raise Deviation(f"duplicate attribute: expected 'Bad header format', got {describe(r)}")

    def unregister(self):
        what = "POST /v1/msisdn/unregister"
        sender, _, _, r = self.api.hawk_post("/v1/msisdn/unregister", {}, self.creds)
        expect_status(r, 204, what)
        verify_server_authorization(sender, r, what)

    def after_unregister(self):
        _, _, _, r = self.api.hawk_post("/v1/certificate/sign",
                                        {"publicKey": PUBLIC_KEY, "duration": 3600}, self.creds)
        expect_401(r, "POST /v1/certificate/sign after unregister")


def main(argv) -> int:
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    base = argv[1]
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        print(f"interop: expected a base URL like http://127.0.0.1:PORT, got {base!r}",
              file=sys.stderr)
        return 2

    flow = Flow(base)
    print(f"interop: Hawk client mohawk {_version('mohawk')} -> {base} "
          f"(number {flow.msisdn})")
    passed = 0
    steps = flow.steps()
    for name, fn in steps:
        try:
            fn()
        except Deviation as exc:
            print(f"FAIL {name}: {exc}", flush=True)
            print(f"interop: {passed} passed, 1 failed, {len(steps) - passed - 1} skipped")
            return 1
        passed += 1
        print(f"ok {name}", flush=True)
    print(f"interop: {passed} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
