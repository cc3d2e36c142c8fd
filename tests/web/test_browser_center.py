"""The notification center in Chromium: list, filters, search, bulk actions, live, keyboard."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.web.conftest import (
    DESKTOP,
    PHONE,
    LiveServer,
    Pages,
    axe_audit,
    layout_fits,
    page_health,
    screenshot,
)


def seed_center(server: LiveServer, user: str) -> None:
    cats = ["billing", "security", "social"]
    for i in range(36):
        server.send(
            user,
            category=cats[i % 3],
            title=f"Invoice {i}" if i % 3 == 0 else f"Update {i}",
            body=f"Details of item {i}",
            link=f"/items/{i}",
        )


def test_center_list_filters_search_and_bulk_actions(pages: Pages, live_server: LiveServer) -> None:
    seed_center(live_server, "carol")
    page = pages.open("/notifications", user="carol")
    items = page.locator("#note-list > li")
    expect(items).to_have_count(25)
    expect(page.locator("#total")).to_have_text("36 notifications")
    expect(page.locator("#bell-badge")).to_have_text("36")
    # infinite scroll: the rest arrives when the end of the list comes into view
    page.locator("#sentinel").scroll_into_view_if_needed()
    expect(items).to_have_count(36)

    # category filter with unread counts in the sidebar
    billing = page.locator("#category-list label", has_text="billing")
    expect(billing).to_contain_text("12 unread")
    billing.click()
    expect(items).to_have_count(12)
    expect(page.locator("#note-list .chip", has_text="security")).to_have_count(0)

    # search (prefix-aware) narrows within the filter; suggestions fill the datalist
    page.fill("#search", "invo")
    expect(items).to_have_count(12)
    expect(page.locator("#search-suggestions option").first).to_have_attribute(
        "value", "Invoice 33"
    )
    page.fill("#search", "Invoice 3")
    expect(page.locator("#note-list .note-title", has_text="Invoice 3").first).to_be_visible()
    page.fill("#search", "")
    page.wait_for_timeout(400)  # past the search debounce
    expect(page.locator("#note-list[data-state=ready]")).to_have_count(1)
    expect(items).to_have_count(12)

    # date range: nothing was sent tomorrow
    page.fill("#date-from", "2099-01-01")
    expect(page.locator("#list-status")).to_have_text("No notifications here.")
    expect(items).to_have_count(0)
    page.fill("#date-from", "")
    expect(items).to_have_count(12)

    # sort oldest first
    page.select_option("#sort", "oldest")
    expect(items.first.locator(".note-title")).to_have_text("Invoice 0")
    expect(page.locator("#note-list[data-state=ready]")).to_have_count(1)

    # select two, mark read: the badge and the unread counts follow
    items.nth(0).locator(".note-select").check()
    items.nth(1).locator(".note-select").check()
    expect(page.locator("#selected-count")).to_have_text("2 selected")
    page.click("#bulk-read")
    expect(page.locator("#list-status")).to_have_text("Marked read: 2 notifications.")
    expect(page.locator("#bell-badge")).to_have_text("34")
    expect(billing).to_contain_text("10 unread")
    expect(items.nth(0)).to_have_class("note read")

    # read-status filter
    page.check("#filters input[name=is_read][value=false]")
    expect(items).to_have_count(10)
    page.check("#filters input[name=is_read][value='']")
    expect(items).to_have_count(12)

    # archive one: it leaves the list, and shows under "archived only"
    items.nth(2).locator(".note-select").check()
    page.click("#bulk-archive")
    expect(items).to_have_count(11)
    page.check("#filters input[name=archived]")
    expect(items).to_have_count(1)
    page.uncheck("#filters input[name=archived]")
    expect(items).to_have_count(11)

    # delete asks first; cancelling keeps everything
    items.nth(0).locator(".note-select").check()
    page.click("#bulk-delete")
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Delete 1 notification?")
    page.click("#confirm-cancel")
    expect(items).to_have_count(11)
    page.click("#bulk-delete")
    page.click("#confirm-ok")
    expect(items).to_have_count(10)
    with live_server.client(user="carol") as c:
        assert (
            c.get("/api/notifications/center", params={"category": "billing"}).json()["total"] == 10
        )

    # export with the current filters
    with page.expect_download() as dl:
        page.click("#export-csv")
    text = open(dl.value.path(), encoding="utf-8").read()
    assert text.count("\n") == 1 + 10 and "security" not in text

    # mark all read empties the badge
    page.click("#read-all")
    expect(page.locator("#bell-badge")).to_be_hidden()
    page_health(page)
    screenshot(page, "notifications")


def test_center_keyboard_detail_and_panel(pages: Pages, live_server: LiveServer) -> None:
    for i in range(3):
        live_server.send(
            "dave", category="billing", title=f"Key {i}", body=f"Body {i}", data={"n": i}
        )
    page = pages.open("/notifications", user="dave")
    items = page.locator("#note-list > li")
    expect(items).to_have_count(3)
    # arrows move between notifications, Enter opens, Escape closes
    items.nth(0).locator(".note-open").focus()
    page.keyboard.press("ArrowDown")
    expect(items.nth(1).locator(".note-open")).to_be_focused()
    page.keyboard.press("Enter")
    detail = page.locator("#note-detail")
    expect(detail).to_be_visible()
    expect(detail.locator("h2")).to_have_text("Key 1")
    expect(detail).to_contain_text("Body 1")
    expect(detail.locator(".detail-data")).to_contain_text('"n": 1')
    expect(page.locator("#bell-badge")).to_have_text("2")  # opening reads it
    page.keyboard.press("Escape")
    expect(detail).to_be_hidden()
    # the bell opens the same center as a panel; Escape closes it and focus returns
    page.click("#bell")
    panel = page.locator("#panel")
    expect(panel).to_be_visible()
    expect(panel.locator(".note")).to_have_count(3)
    expect(page.locator("#bell")).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(page.locator("#bell")).to_be_focused()
    # archive from the detail view
    items.nth(0).locator(".note-open").click()
    detail.get_by_role("button", name="Archive").click()
    expect(items).to_have_count(2)
    page_health(page)


def test_live_arrival_on_page_and_bell(pages: Pages, live_server: LiveServer) -> None:
    live_server.send("erin", category="social", title="Old one")
    page = pages.open("/preferences", user="erin")
    expect(page.locator("#conn-status")).to_have_attribute("data-state", "open")
    expect(page.locator("#bell-badge")).to_have_text("1")
    live_server.send("erin", category="social", title="Arrived on preferences")
    expect(page.locator("#bell-badge")).to_have_text("2")
    expect(page.locator("#live-region")).to_have_text("New notification: Arrived on preferences")

    page.goto(f"{live_server.url}/notifications")
    items = page.locator("#note-list > li")
    expect(items).to_have_count(2)
    expect(page.locator("#conn-status")).to_have_attribute("data-state", "open")
    live_server.send("erin", category="billing", title="Fresh news", body="right now")
    expect(items).to_have_count(3)
    expect(items.first.locator(".note-title")).to_have_text("Fresh news")
    expect(page.locator("#live-region")).to_have_text("New notification: Fresh news")
    expect(page.locator("#bell-badge")).to_have_text("3")
    # read elsewhere (another tab, a phone): this page follows
    fresh = items.first.get_attribute("data-id")
    with live_server.client(user="erin") as c:
        assert c.post(f"/api/notifications/{fresh}/read").status_code == 200
    expect(items.first).to_have_class("note read arrived")
    expect(page.locator("#bell-badge")).to_have_text("2")
    # another user's notification never shows up here
    live_server.send("frank", category="billing", title="Not for erin")
    live_server.send("erin", category="billing", title="Second fresh")
    expect(items).to_have_count(4)
    expect(page.locator("#note-list", has_text="Not for erin")).to_have_count(0)
    page_health(page)


def test_xss_in_title_and_body_never_runs(pages: Pages, live_server: LiveServer) -> None:
    payload = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    live_server.send(
        "mallory", category="social", title=payload[:150], body=payload, data={"x": payload}
    )
    page = pages.open("/notifications", user="mallory")
    items = page.locator("#note-list > li")
    expect(items).to_have_count(1)
    # shown as text, never parsed into elements
    expect(items.first.locator(".note-title")).to_contain_text(
        '<img src=x onerror="window.__pwned=1">'
    )
    items.first.locator(".note-open").click()
    expect(page.locator("#note-detail .detail-body")).to_contain_text("<script>")
    page.keyboard.press("Escape")
    page.click("#bell")
    expect(page.locator("#panel .note")).to_have_count(1)
    live_server.send("mallory", category="social", title=payload[:150], body=payload)
    expect(page.locator("#bell-badge")).to_have_text("1")
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator("img[src=x]").count() == 0
    assert page.evaluate("() => document.querySelectorAll('main script, aside script').length") == 0
    page_health(page)


def test_center_on_a_phone_fits_and_passes_axe(pages: Pages, live_server: LiveServer) -> None:
    seed = ["billing", "security"]
    for i in range(6):
        live_server.send(
            "gina", category=seed[i % 2], title=f"Phone note {i} with a fairly long title to wrap"
        )
    page = pages.open("/notifications", user="gina", viewport=PHONE)
    expect(page.locator("#note-list > li")).to_have_count(6)
    # the filters fold away behind a button on small screens
    expect(page.locator("#filters")).to_be_hidden()
    page.click(".filters-toggle")
    expect(page.locator("#filters")).to_be_visible()
    page.locator("#category-list label", has_text="security").click()
    expect(page.locator("#note-list > li")).to_have_count(3)
    assert layout_fits(page) == []
    assert axe_audit(page) == []
    screenshot(page, "notifications")
    page.set_viewport_size({"width": 360, "height": 740})  # the narrowest phones
    assert layout_fits(page) == []
    page.click("#bell")
    expect(page.locator("#panel")).to_be_visible()
    assert axe_audit(page) == []
    screenshot(page, "panel")
    page_health(page)


def test_desktop_center_passes_axe_with_dialogs(pages: Pages, live_server: LiveServer) -> None:
    live_server.send("hank", category="billing", title="Axe check", body="open me", data={"a": 1})
    page = pages.open("/notifications", user="hank", viewport=DESKTOP)
    expect(page.locator("#note-list > li")).to_have_count(1)
    assert layout_fits(page) == []
    assert axe_audit(page) == []
    page.locator(".note-open").first.click()
    expect(page.locator("#note-detail")).to_be_visible()
    assert axe_audit(page) == []
    page_health(page)
