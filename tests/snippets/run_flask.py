"""Serves the spec's Flask receiver, unchanged, on 127.0.0.1:PORT.

usage: run_flask.py SNIPPET PORT
"""
import sys

alerts = []


def send_alert(payload):
    """The spec leaves `send_alert` to the reader."""
    alerts.append(payload)


namespace = {"send_alert": send_alert, "__name__": "__main__"}
exec(open(sys.argv[1]).read(), namespace)
namespace["app"].run(host="127.0.0.1", port=int(sys.argv[2]))
