"""Demo activities for `make run`: a month of plausible account history per user."""

from __future__ import annotations

import random

from hub.activity import store
from hub.activity.models import ActivityIn
from hub.db import Database, now_ms

DAY_MS = 24 * 3600 * 1000
AGENTS = (
    "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile",
    "ShopApp/4.2 (Android 14)",
)
# (type, action, status, title, resource type, description), picked at random
KINDS = (
    ("login", "completed", "completed", "Signed in", "session", "Signed in with a magic link"),
    ("login", "failed", "failed", "Sign-in failed", "session", "Wrong one-time code"),
    ("payment", "completed", "completed", "Paid invoice {n}", "invoice", "Card ending 4242"),
    ("payment", "failed", "failed", "Payment declined", "invoice", "The bank declined card 0005"),
    ("payment", "created", "pending", "Refund requested", "invoice", "Refund of ${n}.00"),
    ("verification", "created", "pending", "Verification started", "document", "Passport"),
    ("verification", "completed", "completed", "Identity verified", "document", "Passport"),
    ("settings", "updated", "completed", "Email notifications changed", "preferences", ""),
    ("settings", "created", "completed", "Device registered", "device", "iPhone"),
    ("api_key", "created", "completed", "API key created", "api_key", "Key for the CI pipeline"),
    ("api_key", "deleted", "completed", "API key revoked", "api_key", ""),
)


async def seed(db: Database, users: tuple[str, ...], per_user: int = 40, days: int = 30) -> int:
    """Insert activities for each user that has none yet; returns how many were added."""
    rng = random.Random(7)
    added = 0
    start = now_ms() - days * DAY_MS
    for user in users:
        if await db.fetch_val("SELECT COUNT(*) FROM activities WHERE user_id = :u", {"u": user}):
            continue
        async with db.transaction():
            for i in range(per_user):
                atype, action, status, title, rtype, description = rng.choice(KINDS)
                n = rng.randint(100, 999)
                item = ActivityIn.model_validate(
                    {
                        "user_id": user,
                        "activity_type": atype,
                        "action": action,
                        "status": status,
                        "title": title.format(n=n),
                        "description": description.replace("{n}", str(n)),
                        "resource_type": rtype,
                        "resource_id": str(n),
                        "metadata": {"demo": True},
                        "ip_address": f"203.0.113.{rng.randint(1, 254)}",
                        "user_agent": rng.choice(AGENTS),
                    }
                )
                at = start + int((i + rng.random()) * days * DAY_MS / per_user)
                await store.insert(db, [item], None, at)
                added += 1
    return added
