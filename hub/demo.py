"""Demo data for `make run`: a few users, a few hundred notifications, an admin key."""

from __future__ import annotations

import random
import sys

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


async def seed(db: Database, settings: Settings, per_user: int = 120) -> int:
    existing = await db.fetch_val(
        "SELECT COUNT(*) FROM notifications WHERE user_id = :u", {"u": USERS[0]}
    )
    rng = random.Random(42)
    if not existing:
        start = now_ms() - 14 * 24 * 3600 * 1000
        for user in USERS:
            async with db.transaction():
                for i in range(per_user):
                    category = rng.choice(list(CATEGORIES))
                    title, body = rng.choice(CATEGORIES[category])
                    n = rng.randint(1, 999)
                    created = start + int((i + rng.random()) * 14 * 24 * 3600 * 1000 / per_user)
                    await store.insert_notifications(
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
                # about a third already read
                await db.execute(
                    "UPDATE notifications SET is_read = TRUE, read_at = created_at"
                    " WHERE user_id = :u AND id % 3 = 0",
                    {"u": user},
                )
        print(
            f"seeded {per_user * len(USERS)} notifications for {', '.join(USERS)}", file=sys.stderr
        )
    _, key = await create_api_key(db, "demo-admin", ["admin"])
    token = make_user_token(settings.secret_key, USERS[0], ttl=7 * 24 * 3600)
    base = settings.base_url.rstrip("/")
    print()
    print(f"  Demo user ({USERS[0]}) login link: {base}/login?token={token}")
    print(f"  Admin API key (sign in at {base}/login): {key}")
    print()
    return 0
