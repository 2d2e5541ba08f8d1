"""Runs the spec's Python verification snippet, unchanged, on a captured delivery.

usage: run_python.py SNIPPET BODY_FILE SIGNATURE [SECRET]  -> prints "valid" or "invalid"

Without SECRET, the snippet's own handler lines decide (they use the spec's example secret);
with it, its `verify_signature` function is called with that secret.
"""
import sys


class Request:
    """What the snippet's "In your webhook handler" lines expect of `request`."""

    def __init__(self, body, signature):
        self.body = body
        self.headers = {"X-Webhook-Signature": signature}


snippet = open(sys.argv[1]).read()
body = open(sys.argv[2], "rb").read()
namespace = {"request": Request(body, sys.argv[3])}
exec(snippet, namespace)
if len(sys.argv) > 4:
    valid = namespace["verify_signature"](body, sys.argv[3], sys.argv[4])
else:
    valid = namespace["is_valid"]
print("valid" if valid else "invalid")
