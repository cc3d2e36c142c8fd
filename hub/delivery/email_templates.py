"""Email content: Jinja2 templates under web/templates/email/ → subject, text, HTML.

The template is the notification's ``data["template"]`` when it names one,
else the category when a template has that name, else ``notification``;
digest emails use ``daily_digest``/``weekly_digest``. Each template has a
``.txt`` and an ``.html`` form (HTML autoescaped).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATE_DIR = Path(__file__).resolve().parent.parent.parent / "web" / "templates"
TEMPLATES = (
    "notification",
    "verification_initiated",
    "sms_received",
    "verification_complete",
    "payment_received",
    "refund_issued",
    "balance_low",
    "daily_digest",
    "weekly_digest",
)


@dataclass(frozen=True)
class Rendered:
    template: str
    subject: str
    text: str
    html: str


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=False,
        auto_reload=False,
    )


def choose(category: str, data: dict[str, Any] | None, extra: dict[str, Any]) -> str:
    named = extra.get("template") or (data or {}).get("template")
    if isinstance(named, str) and named in TEMPLATES:
        return named
    if category in TEMPLATES:
        return category
    return "notification"


def absolute(link: str | None, base_url: str) -> str | None:
    if not link:
        return None
    return base_url.rstrip("/") + link if link.startswith("/") else link


def subject_for(template: str, title: str, context: dict[str, Any]) -> str:
    if template.endswith("_digest"):
        period = template.split("_", 1)[0]
        total = context.get("total", 0)
        return f"Your {period} digest: {total} notification{'s' if total != 1 else ''}"
    # header injection: a subject is one line
    return " ".join(title.split())[:200]


def render(template: str, context: dict[str, Any]) -> Rendered:
    env = environment()
    subject = subject_for(template, str(context.get("title", "")), context)
    ctx = {**context, "subject": subject}
    text = env.get_template(f"email/{template}.txt").render(ctx)
    html = env.get_template(f"email/{template}.html").render(ctx)
    return Rendered(template, subject, text.strip() + "\n", html)
