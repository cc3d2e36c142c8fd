"""Preferences and activity pages in Chromium, at desktop and phone sizes."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.web.conftest import (
    PHONE,
    LiveServer,
    Pages,
    axe_audit,
    layout_fits,
    page_health,
    screenshot,
)


def test_preferences_save_validate_reset_devices(pages: Pages, live_server: LiveServer) -> None:
    live_server.send("ivy", category="billing", title="Bill")
    live_server.send("ivy", category="security", title="Login")
    with live_server.client(user="ivy") as c:
        r = c.post(
            "/api/devices",
            json={"platform": "android", "token": "fcm-token-ivy-0001", "app": "demo"},
        )
        assert r.status_code == 201, r.text
    page = pages.open("/preferences", user="ivy")
    billing = page.locator('.pref-card[data-category="billing"]')
    security = page.locator('.pref-card[data-category="security"]')
    expect(billing).to_be_visible()
    expect(page.locator("#timezone")).to_have_value("UTC")

    # change billing: no email, daily digest, quiet nights
    billing.get_by_label("Email").uncheck()
    billing.get_by_label("How often").select_option("daily")
    billing.get_by_label("From").fill("22:00")
    billing.get_by_label("Until").fill("07:00")
    page.fill("#timezone", "Europe/Paris")
    page.click("#save")
    expect(page.locator("#prefs-status")).to_have_text("Preferences saved.")
    with live_server.client(user="ivy") as c:
        body = c.get("/api/notifications/preferences").json()
    saved = {p["category"]: p for p in body["preferences"]}
    assert "email" not in saved["billing"]["delivery_methods"]
    assert saved["billing"]["frequency"] == "daily"
    assert (saved["billing"]["quiet_hours_start"], saved["billing"]["quiet_hours_end"]) == (
        "22:00",
        "07:00",
    )
    assert "email" in saved["security"]["delivery_methods"]
    assert body["timezone"] == "Europe/Paris"
    page.reload()
    expect(billing.get_by_label("Email")).not_to_be_checked()
    expect(billing.get_by_label("How often")).to_have_value("daily")

    # the API's validation errors appear next to the field; nothing is saved
    security.get_by_label("From").fill("23:00")
    page.click("#save")
    error = security.locator('.field-error[data-field="quiet_hours_end"]')
    expect(error).to_contain_text("both")
    expect(security.get_by_label("Until")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#prefs-status")).to_contain_text("Not saved")
    security.get_by_label("From").fill("")
    page.fill("#timezone", "Mars/Olympus_Mons")
    page.click("#save")
    expect(page.locator("#timezone-error")).not_to_be_empty()
    expect(page.locator("#timezone")).to_have_attribute("aria-invalid", "true")
    with live_server.client(user="ivy") as c:
        assert c.get("/api/notifications/preferences").json()["timezone"] == "Europe/Paris"
    page.fill("#timezone", "Europe/Paris")

    # the email opt-out saves at once
    page.check("#email-opt-out")
    expect(page.locator("#email-status")).to_have_text("You will get no email from the hub.")
    with live_server.client(user="ivy") as c:
        assert c.get("/api/notifications/email/preferences").json()["email_opt_out"] is True

    # devices: listed, and removed after confirmation
    devices = page.locator("#devices li")
    expect(devices).to_have_count(1)
    expect(devices.first).to_contain_text("android")
    devices.first.get_by_role("button").click()
    page.click("#confirm-ok")
    expect(page.locator("#devices-status")).to_have_text("Device removed.")
    expect(devices.first).to_contain_text("No devices registered")

    # a ready-made set fills the form; reset goes back to the defaults
    page.select_option("#template", "in_app_only")
    expect(billing.get_by_label("Push")).not_to_be_checked()
    page.click("#reset")
    page.click("#confirm-ok")
    expect(page.locator("#prefs-status")).to_have_text("Preferences reset to the defaults.")
    expect(billing.get_by_label("Email")).to_be_checked()
    expect(billing.get_by_label("How often")).to_have_value("instant")
    assert axe_audit(page) == []
    assert layout_fits(page) == []
    page_health(page)
    screenshot(page, "preferences")


def test_preferences_on_a_phone(pages: Pages, live_server: LiveServer) -> None:
    live_server.send("jill", category="billing", title="Bill")
    page = pages.open("/preferences", user="jill", viewport=PHONE)
    card = page.locator('.pref-card[data-category="billing"]')
    expect(card).to_be_visible()
    card.get_by_label("Push").uncheck()
    page.click("#save")
    expect(page.locator("#prefs-status")).to_have_text("Preferences saved.")
    assert layout_fits(page) == []
    assert axe_audit(page) == []
    page_health(page)
    screenshot(page, "preferences")
    page.set_viewport_size({"width": 360, "height": 740})
    assert layout_fits(page) == []


def seed_activity(server: LiveServer, user: str) -> None:
    with server.client("activity") as c:
        batch = []
        for i in range(24):
            batch.append(
                {
                    "user_id": user,
                    "activity_type": ["payment", "login", "verification"][i % 3],
                    "action": "completed",
                    "status": "failed" if i % 6 == 0 else "completed",
                    "title": f"Activity {i}",
                    "description": f"Description {i}",
                    "resource_type": "invoice" if i % 3 == 0 else "session",
                    "resource_id": f"r-{i}",
                    "metadata": {"amount": i * 10, "note": "<b>bold</b>"},
                }
            )
        r = c.post("/api/activities", json={"activities": batch})
        assert r.status_code in (200, 201), r.text


def test_activity_filters_search_pages_detail_export_live(
    pages: Pages, live_server: LiveServer
) -> None:
    seed_activity(live_server, "kate")
    page = pages.open("/activity", user="kate")
    rows = page.locator("#act-list > li")
    expect(rows).to_have_count(20)
    # 24 from the producer, and the hub's own record of this sign-in
    expect(page.locator("#act-total")).to_have_text("25 activities")
    expect(page.locator('#summary .kpi:has-text("Last 7 days") .kpi-value')).to_have_text("25")
    expect(page.locator('#summary .kpi:has-text("Failed (30 days)") .kpi-value')).to_have_text("4")

    # pagination
    page.click("#act-next")
    expect(rows).to_have_count(5)
    expect(page.locator("#act-page")).to_have_text("Page 2 of 2")
    page.click("#act-prev")
    expect(rows).to_have_count(20)

    # filters: status, type, resource; then search
    page.select_option("#f-status", "failed")
    expect(rows).to_have_count(4)
    page.select_option("#f-type", "payment")
    expect(rows).to_have_count(4)
    page.select_option("#f-status", "")
    expect(rows).to_have_count(8)
    page.fill("#f-resource", "invoice")
    expect(rows).to_have_count(8)
    page.fill("#act-search", "Activity 21")
    expect(rows).to_have_count(1)

    # detail with its metadata, as text
    rows.first.locator(".note-open").click()
    detail = page.locator("#act-detail")
    expect(detail).to_be_visible()
    expect(detail.locator("h2")).to_have_text("Activity 21")
    expect(detail.locator("table.metadata")).to_contain_text("210")
    expect(detail.locator("table.metadata")).to_contain_text("<b>bold</b>")
    page.keyboard.press("Escape")

    # export what the filters select
    with page.expect_download() as dl:
        page.click("#act-export-csv")
    text = open(dl.value.path(), encoding="utf-8").read()
    assert "Activity 21" in text and "Activity 20" not in text

    # a bad date range names the field
    page.fill("#act-search", "")
    page.fill("#f-resource", "")
    page.fill("#f-from", "2026-03-10")
    page.fill("#f-to", "2026-03-01")
    expect(page.locator("#f-date_to-error")).not_to_be_empty()
    page.click("#act-filters button[type=reset]")
    expect(rows).to_have_count(20)

    # live: a new activity appears on top
    expect(page.locator("#conn-status")).to_have_attribute("data-state", "open")
    live_server.activity("kate", title="Just now", activity_type="login", action="created")
    expect(rows.first.locator(".note-title")).to_have_text("Just now")
    expect(page.locator("#live-region")).to_have_text("New activity: Just now")
    assert axe_audit(page) == []
    page_health(page)
    screenshot(page, "activity")
    page.set_viewport_size({"width": 360, "height": 740})
    assert layout_fits(page) == []


def test_activity_on_a_phone(pages: Pages, live_server: LiveServer) -> None:
    seed_activity(live_server, "liam")
    page = pages.open("/activity", user="liam", viewport=PHONE)
    expect(page.locator("#act-list > li")).to_have_count(20)
    page.click(".filters-toggle")
    page.select_option("#f-status", "failed")
    expect(page.locator("#act-list > li")).to_have_count(4)
    assert layout_fits(page) == []
    assert axe_audit(page) == []
    page_health(page)
    screenshot(page, "activity")
