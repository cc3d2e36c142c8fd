"""plotly.js's own style rules as a static stylesheet.

plotly.js injects its CSS (modebar, hover labels, notifier) as a <style>
element at run time, which the Content-Security-Policy forbids. The rules
live in plotly.min.js as an object literal; we lift them out once, so the
stylesheet always matches the installed plotly version.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

_STRING = r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'"
_ENTRY = re.compile(rf"\s*({_STRING})\s*:\s*({_STRING})\s*([,}}])")
_START = '{"X,X div":'


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


def extract_rules(js: str) -> list[tuple[str, str]]:
    """(selector, declarations) pairs of plotly's CSS object in `js` (pure)."""
    start = js.find(_START)
    if start < 0:
        return []
    pos = start + 1
    rules: list[tuple[str, str]] = []
    while True:
        m = _ENTRY.match(js, pos)
        if m is None:
            break
        rules.append((_unquote(m.group(1)), _unquote(m.group(2))))
        pos = m.end()
        if m.group(3) == "}":
            break
    return rules


def to_css(rules: list[tuple[str, str]]) -> str:
    """The rules with plotly's placeholders expanded, as plotly itself does."""
    out = []
    for selector, body in rules:
        sel = selector
        if sel.startswith(","):
            sel = " " + sel
        sel = sel.replace("X", ".js-plotly-plot .plotly").replace("Y", ".plotly-notifier")
        out.append(f"{sel}{{{body}}}")
    return "\n".join(out) + "\n"


@lru_cache(maxsize=1)
def stylesheet(path: Path) -> str:
    return to_css(extract_rules(path.read_text(encoding="utf-8")))
