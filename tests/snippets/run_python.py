"""Runs the spec's Python verification snippet, unchanged, on a captured delivery.

usage: run_python.py SNIPPET BODY_FILE SIGNATURE  -> prints "valid" or "invalid"
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
print("valid" if namespace["is_valid"] else "invalid")
