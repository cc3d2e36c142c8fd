"""Demo data for `make run`: a few users, a few hundred notifications, an admin key."""

from __future__ import annotations

import random
import sys
from typing import Any

from analytics import events
from hub.activity import demo as activity_demo
from hub.auth import create_api_key, make_user_token
from hub.db import Database, now_ms
from hub.notifications import store
from hub.settings import Settings

USERS = ("alice", "bob", "carol")
CATEGORIES = {
    "billing": [
        ("Payment received", "We received your payment of ${n}.00. Thank you!"),
        ("Refund issued", "A refund of ${n}.00 is on its way to your card."),
        ("Balance low", "Your balance is down to ${n}.00."),
    ],
    "security": [
        ("New sign-in", "A new sign-in from Firefox on Linux (city {n})."),
        ("Password changed", "Your password was changed. Not you? Reset it now."),
    ],
    "verification": [
        ("Verification started", "We are checking document #{n}."),
        ("Verification complete", "Document #{n} is verified."),
    ],
    "social": [
        ("New follower", "User {n} started following you."),
        ("Comment on your post", "Someone replied to post {n}: looks great!"),
    ],
    "system": [
        ("Scheduled maintenance", "Short maintenance window tonight ({n} min)."),
        ("New feature", "Dashboards now update live (release {n})."),
    ],
}


async def _reads_and_clicks(db: Database, rng: random.Random, rows: list[dict[str, Any]]) -> None:
    """About a third read (minutes to hours later), some of those clicked, a few
    archived, with the outbox events the analytics pages count."""
    evs: list[events.Event] = []
    for row in rows:
        if rng.random() > 0.35:
            continue
        read_at = row["created_at"] + rng.randint(60_000, 6 * 3600 * 1000)
        clicked_at = read_at + rng.randint(1_000, 60_000) if rng.random() < 0.4 else None
        archived_at = read_at + 3_600_000 if rng.random() < 0.1 else None
        await db.execute(
            "UPDATE notifications SET is_read = TRUE, read_at = :r, clicked_at = :c,"
            " archived = :a, archived_at = :aa WHERE id = :id",
            {
                "r": read_at,
                "c": clicked_at,
                "a": archived_at is not None,
                "aa": archived_at,
                "id": row["id"],
            },
        )
        for kind, at in (("read", read_at), ("clicked", clicked_at), ("archived", archived_at)):
            if at is not None:
                evs.append(
                    events.Event(
                        kind,
                        notification_id=row["id"],
                        user_id=row["user_id"],
                        category=row["category"],
                        channel="in_app",
                        priority=row["priority"],
                        latency_ms=at - row["created_at"],
                        event_time=at,
                    )
                )
    await events.record(db, evs)


async def seed(db: Database, settings: Settings, per_user: int = 120) -> int:
    existing = await db.fetch_val(
        "SELECT COUNT(*) FROM notifications WHERE user_id = :u", {"u": USERS[0]}
    )
    rng = random.Random(42)
    if not existing:
        start = now_ms() - 14 * 24 * 3600 * 1000
        for user in USERS:
            async with db.transaction():
                rows = []
                for i in range(per_user):
                    category = rng.choice(list(CATEGORIES))
                    title, body = rng.choice(CATEGORIES[category])
                    n = rng.randint(1, 999)
                    created = start + int((i + rng.random()) * 14 * 24 * 3600 * 1000 / per_user)
                    rows += await store.insert_notifications(
                        db,
                        [user],
                        category=category,
                        title=title,
                        body=body.format(n=n),
                        link=f"/{category}/{n}",
                        data={"n": n},
                        priority="high" if category == "security" else "normal",
                        api_key_id=None,
                        created_at=created,
                    )
                await _reads_and_clicks(db, rng, rows)
        print(
            f"seeded {per_user * len(USERS)} notifications for {', '.join(USERS)}", file=sys.stderr
        )
    added = await activity_demo.seed(db, USERS)
    if added:
        print(f"seeded {added} activities for {', '.join(USERS)}", file=sys.stderr)
    _, key = await create_api_key(db, "demo-admin", ["admin"])
    token = make_user_token(settings.secret_key, USERS[0], ttl=7 * 24 * 3600)
    base = settings.base_url.rstrip("/")
    print()
    print(f"  Demo user ({USERS[0]}) login link: {base}/login?token={token}")
    print(f"  Admin API key (sign in at {base}/login): {key}")
    print()
    return 0
