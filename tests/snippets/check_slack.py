"""Validates captured Slack bodies with Slack's own SDK (PyPI `slack_sdk`), adding the checks
slack_sdk does not make (from the destinations research note): at most 50 blocks, section
fields of at most 2,000 characters, a header's text plain_text, context text elements of at
most 3,000, the top-level `text` at most 40,000.

usage: check_slack.py BODY_FILE...  -> prints "ok N"; exit 1 listing every violation
"""
import json
import sys

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock
from slack_sdk.models.blocks.basic_components import TextObject


def check(body):
    blocks, bad = body.get("blocks", []), []
    if not isinstance(body.get("text"), str) or not body["text"]:
        bad.append("text missing")
    if len(blocks) > 50:
        bad.append(f"{len(blocks)} blocks > 50")
    if len(body.get("text", "")) > 40000:
        bad.append("text > 40000")
    for key in ("link_names", "parse"):
        if key in body:
            bad.append(f"{key} set")
    for i, raw in enumerate(blocks):
        b = Block.parse(raw)  # None for an unknown type (no exception)
        if b is None:
            bad.append(f"blocks[{i}]: unknown type {raw.get('type')!r}")
            continue
        try:
            b.to_dict()  # validate_json() on the block and everything in it
        except SlackObjectFormationError as e:
            bad.append(f"blocks[{i}] {b.type}: {e}")
        if isinstance(b, HeaderBlock) and raw["text"].get("type") != "plain_text":
            bad.append(f"blocks[{i}]: header text must be plain_text")
        if isinstance(b, SectionBlock):
            bad += [
                f"blocks[{i}].fields[{j}] > 2000"
                for j, f in enumerate(b.fields or [])
                if len(f.text) > 2000
            ]
        if isinstance(b, ContextBlock):
            bad += [
                f"blocks[{i}].elements[{j}] > 3000"
                for j, el in enumerate(b.elements or [])
                if isinstance(el, TextObject) and len(el.text) > 3000
            ]
    return bad


problems = []
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        problems += [f"{path}: {p}" for p in check(json.load(f))]
if problems:
    sys.exit("slack body invalid:\n  " + "\n  ".join(problems))
print(f"ok {len(sys.argv) - 1}")
