#!/usr/bin/env python3
"""Writes the events of the cold-start bench (infra/bench/cold-start.sh): for each function, N
first requests that do real work, the parsing of a phone number included, against sessions
prepared in the store the functions will read.

Usage: cold_start_events.py --prep-url URL --public-url URL --secret FILE --count N --out DIR
  --prep-url    a mobileid-local on the same DynamoDB tables and secret (it registers the
                sessions and texts the codes, read back from its fake gateway)
  --public-url  the functions' MOBILEID_PUBLIC_URL (https: Hawk's default port 443)
  --secret      the stage secret (JSON): the webhook's signature secret signs the callbacks

Writes DIR/<function>-<i>.json (i = 1..N), API Gateway HTTP API (v2) events for three
functions and function-URL events for inbound-sms:
  start-verification  discover with a US number (parsed, screened, country looked up)
  verify-code         the right code for a session with a pending code (consumes it, answers
                      the session's number: unsealed and parsed)
  sign-certificate    a certificate for a verified session (the number parsed, ES256 signed)
  inbound-sms         a signed Nexmo callback from a US number asking to verify a session
Hawk headers carry a timestamp: use the events within the server's skew (60 s) of writing them.
"""

import argparse
import copy
import hashlib
import hmac
import json
import os
import sys
import time
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "interop"))
from hawk_interop import PUBLIC_KEY, hawk_credentials  # noqa: E402  (HKDF + the P-256 point)

import mohawk  # noqa: E402
import requests  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
TEMPLATE = os.path.join(ROOT, "events", "start-verification-discover.json")
URL_TEMPLATE = os.path.join(ROOT, "events", "inbound-sms-nexmo-ping.json")
JSON = "application/json"


def number(i: int) -> str:
    """Distinct US numbers that libphonenumber's US metadata accepts (415-555-2xxx; the range
    reserved for fiction is 555-0100…0199). An invalid one would be judged by the whole-world
    metadata instead, which is not what a real first request costs."""
    return f"+1415555{2000 + i:04d}"


def api_event(path: str, body: str, authorization: str = None) -> dict:
    event = json.load(open(TEMPLATE))
    event["routeKey"] = f"POST {path}"
    event["rawPath"] = path
    event["requestContext"]["http"]["path"] = path
    event["requestContext"]["routeKey"] = f"POST {path}"
    event["requestContext"]["requestId"] = os.urandom(8).hex()
    event["body"] = body
    event["headers"]["content-length"] = str(len(body))
    if authorization:
        event["headers"]["authorization"] = authorization
    return event


class Prep:
    def __init__(self, prep_url: str, public_url: str):
        self.prep = prep_url.rstrip("/")
        self.public = public_url.rstrip("/")
        self.http = requests.Session()

    def register(self) -> dict:
        r = self.http.post(f"{self.prep}/v1/msisdn/register", timeout=10)
        r.raise_for_status()
        creds = hawk_credentials(r.json()["msisdnSessionToken"])
        return creds

    def authorization(self, creds: dict, url: str, body: str) -> str:
        """The Hawk header for POST `url` (the server checks it against the Host it is sent)."""
        sender = mohawk.Sender(creds, url, "POST", content=body, content_type=JSON)
        return sender.request_header

    def event_authorization(self, creds: dict, path: str, body: str) -> str:
        """For an event: the host API Gateway puts in its Host header, on port 443."""
        host = json.load(open(TEMPLATE))["headers"]["host"]
        return self.authorization(creds, f"https://{host}{path}", body)

    def post(self, creds: dict, path: str, obj) -> requests.Response:
        body = json.dumps(obj)
        auth = self.authorization(creds, f"{self.prep}{path}", body)
        headers = {"content-type": JSON, "authorization": auth}
        return self.http.post(f"{self.prep}{path}", data=body, headers=headers, timeout=10)

    def session_with_code(self, msisdn: str):
        """A session with a code texted to `msisdn`; (credentials, code)."""
        creds = self.register()
        r = self.post(creds, "/v1/msisdn/sms/mt/verify",
                      {"msisdn": msisdn, "mcc": "310", "shortVerificationCode": True})
        if r.status_code != 204:
            sys.exit(f"mt/verify for the bench answered {r.status_code}: {r.text}")
        for _ in range(50):
            inbox = self.http.get(f"{self.prep}/__sms__/receive", params={"to": msisdn[1:]},
                                  timeout=10).json()
            if inbox:
                return creds, inbox[-1]["text"].split()[0]  # the code comes first
            time.sleep(0.05)
        sys.exit(f"no SMS reached the prep server's fake gateway for the bench's {msisdn[:5]}…")

    def verified_session(self, msisdn: str) -> dict:
        creds, code = self.session_with_code(msisdn)
        r = self.post(creds, "/v1/msisdn/sms/verify_code", {"code": code})
        if r.status_code != 200:
            sys.exit(f"verify_code for the bench answered {r.status_code}: {r.text}")
        return creds


def nexmo_signed(params: dict, secret: str) -> dict:
    """Nexmo's HMAC-SHA256 signature: `&name=value` sorted, `&`/`=` in values replaced by `_`."""
    signed = "".join(f"&{k}={str(v).replace('&', '_').replace('=', '_')}"
                     for k, v in sorted(params.items()))
    return {**params, "sig": hmac.new(secret.encode(), signed.encode(), hashlib.sha256).hexdigest()}


def url_event(query: dict) -> dict:
    event = json.load(open(URL_TEMPLATE))
    event = copy.deepcopy(event)
    event["rawQueryString"] = urlencode(query)
    event["queryStringParameters"] = {k: str(v) for k, v in query.items()}
    event["requestContext"]["requestId"] = os.urandom(8).hex()
    return event


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prep-url", required=True)
    ap.add_argument("--public-url", required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    secret = json.load(open(args.secret))
    prep = Prep(args.prep_url, args.public_url)
    os.makedirs(args.out, exist_ok=True)

    def write(name: str, i: int, event: dict):
        with open(os.path.join(args.out, f"{name}-{i}.json"), "w") as f:
            json.dump(event, f)

    for i in range(1, args.count + 1):
        body = json.dumps({"mcc": "310", "msisdn": number(i)})
        write("start-verification", i, api_event("/v1/msisdn/discover", body))

        creds, code = prep.session_with_code(number(100 + i))
        path, body = "/v1/msisdn/sms/verify_code", json.dumps({"code": code})
        write("verify-code", i, api_event(path, body, prep.event_authorization(creds, path, body)))

        creds = prep.verified_session(number(200 + i))
        path = "/v1/certificate/sign"
        body = json.dumps({"publicKey": PUBLIC_KEY, "duration": 3600})
        write("sign-certificate", i, api_event(path, body, prep.event_authorization(creds, path, body)))

        hawk_id = prep.register()["id"]
        query = {"msisdn": number(300 + i)[1:], "to": "12025550181", "messageId": os.urandom(8).hex(),
                 "text": f"/v1/msisdn/sms/momt/verify {hawk_id}", "type": "text",
                 "keyword": "/V1/MSISDN/SMS/MOMT/VERIFY", "message-timestamp":
                 time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
                 "timestamp": str(int(time.time()))}
        write("inbound-sms", i, url_event(nexmo_signed(query, secret["nexmo"]["signatureSecret"])))
    print(f"cold_start_events: {args.count} events per function in {args.out}")


if __name__ == "__main__":
    main()
