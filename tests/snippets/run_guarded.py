"""Runs the spec's Python snippet and the README's guard around it on one captured delivery.

usage: run_guarded.py SPEC_SNIPPET GUARD BODY_FILE SIGNATURE SECRET
prints one verdict per header a receiver may get: the real one, none, empty, cut short,
non-ASCII, another secret's ("valid", "invalid", or "raised: …" if the guard let an error out).
"""
import hashlib
import hmac
import sys


class Request:
    def __init__(self, body, signature):
        self.body = body
        self.headers = {"X-Webhook-Signature": signature}


spec, guard, body_path, signature, secret = sys.argv[1:6]
body = open(body_path, "rb").read()
namespace = {"request": Request(body, signature)}
exec(open(spec).read(), namespace)
exec(open(guard).read(), namespace)
other = "sha256=" + hmac.new(b"another", body, hashlib.sha256).hexdigest()
for given in [signature, None, "", signature[:20], signature[:-1] + "é", other]:
    try:
        ok = namespace["signature_is_valid"](body, given, secret)
        print("valid" if ok else "invalid")
    except Exception as e:  # the guard's whole point is that this never happens
        print(f"raised: {type(e).__name__}")
