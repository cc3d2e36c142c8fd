"""The email suppression list: addresses that bounced are never emailed again."""

from __future__ import annotations

from hub.db import Database, in_list


async def suppress(db: Database, address: str, reason: str, now: int) -> None:
    await db.execute(
        "INSERT INTO email_suppressions (address, reason, created_at) VALUES (:a, :r, :now)"
        " ON CONFLICT (address) DO NOTHING",
        {"a": address.lower(), "r": reason, "now": now},
    )


async def suppressed_addresses(db: Database, addresses: list[str]) -> set[str]:
    wanted = sorted({a.lower() for a in addresses if a})
    if not wanted:
        return set()
    if db.is_postgres:
        async with db.raw() as conn:
            records = await conn.fetch(
                "SELECT address FROM email_suppressions WHERE address = ANY($1::text[])", wanted
            )
        return {r["address"] for r in records}
    marks, params = in_list("a", wanted)
    rows = await db.fetch_all(
        f"SELECT address FROM email_suppressions WHERE address IN ({marks})", params
    )
    return {r["address"] for r in rows}
