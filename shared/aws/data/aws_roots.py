#!/usr/bin/env python3
"""Writes aws-root-cas.pem: the root CAs that AWS service endpoints chain to (Amazon Trust
Services: Amazon Root CA 1-4, and Starfield Services Root Certificate Authority - G2, which
cross-signs them), taken from the Mozilla CA list as the webpki-roots crate ships it.

Why a file of our own: the SDK's default HTTP client reads and parses every certificate of
the system's store (/etc/ssl/certs: ~150 PEM files) on the first connection, a few
milliseconds of every cold start, to talk to endpoints that only ever present these five.

Usage: shared/aws/data/aws_roots.py [--check]   (--check: exit 1 if the file is out of date)
The webpki-roots source comes from cargo's registry (`cargo fetch` puts it there).
"""
import glob
import hashlib
import os
import re
import sys

LABELS = ["Amazon Root CA 1", "Amazon Root CA 2", "Amazon Root CA 3", "Amazon Root CA 4",
          "Starfield Services Root Certificate Authority - G2"]
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "aws-root-cas.pem")
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "infra", "lib"))
from vendored import write_or_check  # noqa: E402
VERSION = "1.0.10"  # the webpki-roots in Cargo.lock


def source():
    home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    found = glob.glob(f"{home}/registry/src/*/webpki-roots-{VERSION}/src/lib.rs")
    if not found:
        sys.exit(f"webpki-roots {VERSION} is not in cargo's registry: run `cargo fetch` first")
    with open(found[0], encoding="utf-8") as f:
        return f.read()


def render(text):
    out = [f"# Root CAs of AWS service endpoints, from webpki-roots {VERSION} (Mozilla's CA list).",
           "# Written by shared/aws/data/aws_roots.py; do not edit by hand.", ""]
    for label in LABELS:
        block = re.search(r'\* Label: "' + re.escape(label) + r'"\n(.*?)\*/', text, re.S)
        if not block:
            sys.exit(f"{label}: not found in webpki-roots {VERSION}")
        lines = [l.strip().lstrip("*").strip() for l in block.group(1).splitlines()]
        fingerprint = next(l for l in lines if l.startswith("SHA256 Fingerprint:"))
        pem = lines[lines.index("-----BEGIN CERTIFICATE-----"):lines.index("-----END CERTIFICATE-----") + 1]
        der = __import__("base64").b64decode("".join(pem[1:-1]))
        want = fingerprint.split(":", 1)[1].strip().replace(":", "")
        if hashlib.sha256(der).hexdigest() != want:
            sys.exit(f"{label}: the certificate does not match its fingerprint")
        out += [f"# {label}", f"# {fingerprint}", *pem, ""]
    return "\n".join(out)


def main():
    text = render(source())
    write_or_check(OUT, text, "--check" in sys.argv[1:], "shared/aws/data/aws_roots.py",
                   f"{len(LABELS)} certificates")


if __name__ == "__main__":
    main()
