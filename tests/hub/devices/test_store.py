"""Device lookups the push sender makes for a whole batch."""

from __future__ import annotations

from hub.devices import store
from tests.conftest import Hub


async def test_list_for_users_groups_by_user_in_registration_order(hub: Hub) -> None:
    await store.register(hub.db, "ann", "android", "android:ann-1", None)
    await store.register(hub.db, "bob", "ios", "ab" * 32, "com.example.app")
    await store.register(hub.db, "ann", "web", "web:ann-2", None)
    found = await store.list_for_users(hub.db, ["ann", "bob", "nobody", "ann"])
    assert set(found) == {"ann", "bob"}  # users without devices are absent
    assert [d["token"] for d in found["ann"]] == ["android:ann-1", "web:ann-2"]
    (bob,) = found["bob"]
    assert bob["platform"] == "ios" and bob["app"] == "com.example.app"
    assert set(bob) == {"token", "user_id", "platform", "app", "created_at", "updated_at"}
    assert await store.list_for_users(hub.db, []) == {}
