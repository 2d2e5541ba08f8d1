"""Verifies a captured delivery with the `standardwebhooks` library from PyPI.

usage: run_standardwebhooks.py BODY_FILE HEADERS_JSON SECRET  -> prints "valid" or "invalid"
"""
import json
import sys

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

body = open(sys.argv[1], "rb").read()
headers = json.loads(sys.argv[2])
# webnet secrets are plain strings: give the library their bytes as the key.
webhook = Webhook(sys.argv[3].encode())
try:
    webhook.verify(body, headers)
    print("valid")
except WebhookVerificationError:
    print("invalid")
