"""Runs the README's Standard Webhooks receiver example (standard_verify.py), unchanged, on a
captured delivery, with the `standardwebhooks` library from PyPI.

usage: run_standardwebhooks.py SNIPPET FUNCTION BODY_FILE HEADERS_JSON SECRET
  -> prints "valid", "invalid" (the library found no matching signature) or
     "refused: <error>" (the library would not take the secret in that form)
"""
import json
import sys

from standardwebhooks.webhooks import WebhookVerificationError

snippet, function, body_file, headers, secret = sys.argv[1:6]
namespace = {"__name__": "snippet"}
exec(open(snippet).read(), namespace)
body = open(body_file, "rb").read()
try:
    namespace[function](body, json.loads(headers), secret)
    print("valid")
except WebhookVerificationError:
    print("invalid")
except Exception as e:  # e.g. a plain secret that is not base64, given as a str
    print(f"refused: {type(e).__name__}: {e}")
