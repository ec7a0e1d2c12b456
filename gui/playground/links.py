"""Playground links: a whole setup as one short line of text, like TF Playground's URL (no Qt).

A link is ``scalelab:`` followed by the setup's run spec as compact JSON, compressed with
zlib and written in URL-safe base64 without padding, so it survives a chat, a slide or an
e-mail. It carries the data (a preset's parameters, or painted points), the features, the
model and the training settings, and the controls an exercise hides; not trained weights
nor curves: whoever opens it starts the exercise from the beginning.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib

from engine.spec import RunSpec, SpecError

PREFIX = "scalelab:"
#: the most bytes a link may unpack to (a setup of 100,000 painted points is about 5 MB)
MAX_JSON_BYTES = 16 * 1024 * 1024
#: meta entries of a saved playground that a link leaves out
_LEFT_OUT = ("epoch", "history")


class LinkError(SpecError):
    """A text that is not a whole ScaleLab link; ``str()`` is one line saying why."""

    def __init__(self, message: str):
        super().__init__("", message)


def is_link(text: str) -> bool:
    """Whether ``text`` claims to be a link (starts with ``scalelab:``), as opposed to a file name."""
    return text.strip().lower().startswith(PREFIX)


def spec_to_link(spec: RunSpec) -> str:
    """The link of ``spec``: its setup without trained weights, epoch count or curves."""
    d = spec.to_dict()
    d.pop("weights", None)
    meta = d.get("meta")
    if isinstance(meta, dict) and isinstance(meta.get("playground"), dict):
        meta = dict(meta)
        meta["playground"] = {k: v for k, v in meta["playground"].items() if k not in _LEFT_OUT}
        d["meta"] = meta
    raw = json.dumps(d, separators=(",", ":"), sort_keys=True, allow_nan=False).encode("utf-8")
    packed = zlib.compress(raw, 9)
    return PREFIX + base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def link_to_spec(text: str) -> RunSpec:
    """The run spec a link holds.

    Raises
    ------
    LinkError
        The text is not a link, was cut off or changed, or holds no valid setup (the message
        says which, in one line).
    """
    text = "".join(str(text).split())  # a link broken over lines in a chat or a slide
    if not text.lower().startswith(PREFIX):
        raise LinkError(f"not a ScaleLab link: a link starts with {PREFIX!r}")
    body = text[len(PREFIX):]
    if not body:
        raise LinkError("the ScaleLab link is empty after 'scalelab:'")
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        unpacker = zlib.decompressobj()
        raw = unpacker.decompress(packed, MAX_JSON_BYTES)
        if unpacker.unconsumed_tail:
            raise LinkError(f"the ScaleLab link unpacks to more than {MAX_JSON_BYTES // 2**20} MB")
        if not unpacker.eof:
            raise zlib.error("incomplete data")
        d = json.loads(raw.decode("utf-8"))
    except LinkError:
        raise
    except (binascii.Error, ValueError, zlib.error, UnicodeDecodeError):
        raise LinkError("the ScaleLab link is damaged or cut off: copy the whole line again") from None
    if not isinstance(d, dict):
        raise LinkError("the ScaleLab link does not hold a setup")
    try:
        return RunSpec.from_dict(d)
    except SpecError as exc:
        raise LinkError(f"the ScaleLab link holds a setup this version cannot open: {exc}") from None
