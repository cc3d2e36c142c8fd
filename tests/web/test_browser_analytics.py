"""Dashboards, the SQL console and sign-in in Chromium, on real data in chDB."""

from __future__ import annotations

import time

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

CHARTS = ("funnel", "timeline", "by_category", "by_channel", "latency", "heatmap")


def created_in_store(server: LiveServer, **params: str) -> int:
    with server.client("analytics") as c:
        r = c.get("/api/dashboards/data", params=params)
    assert r.status_code == 200, r.text
    funnel = next(ch for ch in r.json()["charts"] if ch["id"] == "funnel")
    return next((row[1] for row in funnel["rows"] if row[0] == "created"), 0)


def wait_ingested(server: LiveServer, at_least: int, **params: str) -> None:
    deadline = time.monotonic() + 30
    while created_in_store(server, **params) < at_least:
        assert time.monotonic() < deadline, "the ingester did not move the outbox into chDB"
        time.sleep(0.3)


def seed_analytics(server: LiveServer) -> int:
    before = created_in_store(server)
    for i in range(6):
        server.send(f"an{i % 3}", category="orders" if i % 2 else "promo", title=f"Stat {i}")
    with server.client(user="an0") as c:
        for item in c.get("/api/notifications/center").json()["items"]:
            c.post(f"/api/notifications/{item['id']}/read")
    wait_ingested(server, before + 6)
    return before + 6


def test_dashboards_render_real_data_filter_download_and_go_live(
    pages: Pages, live_server: LiveServer
) -> None:
    total = seed_analytics(live_server)
    page = pages.open("/dashboards", key="admin")
    expect(page.locator("body[data-dashboards-loaded]")).to_have_count(1, timeout=30_000)
    for chart in CHARTS:
        card = page.locator(f'[data-chart="{chart}"]')
        expect(card.locator(".js-plotly-plot svg.main-svg").first).to_be_visible()
    expect(page.locator('.kpi[data-kpi="read"] .kpi-value')).not_to_have_text("0")
    funnel_rows = page.locator('[data-chart="funnel"] tbody tr')
    expect(funnel_rows.first).to_contain_text(f"created{total}")

    # a category filter narrows every chart
    page.fill("#d-category", "orders")
    page.click("#dash-filters button[type=submit]")
    expect(funnel_rows.first).to_contain_text("created3")
    cats = page.locator('[data-chart="by_category"] tbody tr')
    expect(cats).to_have_count(1)
    expect(cats.first).to_contain_text("orders")

    # each chart downloads as PNG (plotly's toImage) and CSV
    card = page.locator('[data-chart="by_category"]')
    with page.expect_download() as dl:
        card.locator('[data-action="png"]').click()
    assert dl.value.suggested_filename == "by_category.png"
    assert open(dl.value.path(), "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    with page.expect_download() as dl:
        card.locator('[data-action="csv"]').click()
    csv_text = open(dl.value.path(), encoding="utf-8").read()
    assert csv_text.startswith("category,created,delivered,read,clicked")
    assert "orders,3," in csv_text

    # a bad filter is named next to its field
    page.fill("#d-from", "2026-05-10")
    page.fill("#d-to", "2026-05-01")
    page.click("#dash-filters button[type=submit]")
    expect(page.locator("#d-from-error")).not_to_be_empty()
    page.fill("#d-from", "")
    page.fill("#d-to", "")

    # live mode: new events refresh the charts through admin:live
    page.click("#live-toggle")
    expect(page.locator("#live-toggle")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#live-state")).to_have_text("Live: updating as events arrive")
    live_server.send("an1", category="orders", title="Live stat")
    expect(funnel_rows.first).to_contain_text("created4", timeout=15_000)
    page_health(page)
    assert layout_fits(page) == []
    assert axe_audit(page) == []
    screenshot(page, "dashboards")


def test_dashboards_on_a_phone_for_an_analyst(pages: Pages, live_server: LiveServer) -> None:
    seed_analytics(live_server)
    page = pages.open("/dashboards", key="analytics", viewport=PHONE)
    expect(page.locator("body[data-dashboards-loaded]")).to_have_count(1, timeout=30_000)
    expect(
        page.locator('[data-chart="heatmap"] .js-plotly-plot svg.main-svg').first
    ).to_be_visible()
    # analysts get no SQL console
    expect(page.locator('a[href="/admin/sql"]')).to_have_count(0)
    assert layout_fits(page) == []
    assert axe_audit(page) == []
    page_health(page)
    screenshot(page, "dashboards")
    # charts are drawn at a fixed size: a narrower screen redraws them to fit
    expect(page.locator("body[data-dashboards-visible]")).to_have_count(1)
    page.set_viewport_size({"width": 360, "height": 740})
    assert layout_fits(page) == []
    page.wait_for_function(
        """() => [...document.querySelectorAll('.chart-card .chart')].every((box) => {
          const svg = box.querySelector('svg.main-svg');
          return svg && svg.getBoundingClientRect().width <= box.clientWidth + 1;
        })"""
    )
    page.goto(f"{live_server.url}/admin/sql")
    expect(page.locator("h1")).to_have_text("Not allowed")


def test_sql_console_runs_reads_refuses_writes(pages: Pages, live_server: LiveServer) -> None:
    seed_analytics(live_server)
    page = pages.open("/admin/sql", key="admin")
    examples = page.locator("#examples button")
    expect(examples.first).to_be_visible()
    assert examples.count() >= 3
    examples.first.click()
    expect(page.locator("#sql")).not_to_have_value("")

    page.fill("#sql", "SELECT event, count() AS n FROM events GROUP BY event ORDER BY event")
    page.click("#run")
    table = page.locator("#results-table")
    expect(table.locator("th").first).to_have_text("event")
    expect(table.locator("tbody tr", has_text="created")).to_have_count(1)
    expect(page.locator("#sql-meta")).to_contain_text("rows in")
    expect(page.locator("#qchart .js-plotly-plot svg.main-svg").first).to_be_visible()
    with page.expect_download() as dl:
        page.click("#sql-csv")
    assert open(dl.value.path(), encoding="utf-8").read().startswith("event,n\n")

    # values are text, never markup
    page.fill("#sql", "SELECT '<img src=x onerror=\"window.__pwned=1\">' AS s")
    page.keyboard.press("Control+Enter")
    expect(table.locator("td").first).to_have_text('<img src=x onerror="window.__pwned=1">')
    assert page.locator("img[src=x]").count() == 0

    # a downloaded cell that a spreadsheet would run as a formula is defused
    page.fill("#sql", "SELECT '=HYPERLINK(\"http://x\")' AS f, 2 AS n")
    page.click("#run")
    expect(table.locator("td").first).to_have_text('=HYPERLINK("http://x")')
    with page.expect_download() as dl:
        page.click("#sql-csv")
    assert open(dl.value.path(), encoding="utf-8").read() == 'f,n\n"\'=HYPERLINK(""http://x"")",2\n'

    # writes are refused with the API's message
    page.fill("#sql", "DROP TABLE events")
    page.click("#run")
    error = page.locator("#sql-error")
    expect(error).to_contain_text("Refused: DROP is not allowed")
    expect(error).to_have_attribute("data-code", "sql_forbidden")
    expect(page.locator("#sql")).to_have_attribute("aria-invalid", "true")
    page.fill("#sql", "SELECT nosuchcolumn FROM events")
    page.click("#run")
    expect(error).not_to_contain_text("Refused")
    expect(error).not_to_be_empty()
    assert page.evaluate("() => window.__pwned") is None
    page_health(page)
    assert layout_fits(page) == []
    assert axe_audit(page) == []
    screenshot(page, "admin-sql")


def test_sql_console_on_a_phone(pages: Pages, live_server: LiveServer) -> None:
    page = pages.open("/admin/sql", key="admin", viewport=PHONE)
    expect(page.locator("#examples button").first).to_be_visible()  # below the console
    page.fill("#sql", "SELECT 1 AS one")
    page.click("#run")
    expect(page.locator("#results-table td").first).to_have_text("1")
    assert layout_fits(page) == []
    assert axe_audit(page) == []
    page_health(page)
    screenshot(page, "admin-sql")


def test_login_form_and_sign_out(pages: Pages, live_server: LiveServer) -> None:
    for viewport, name in ((PHONE, "phone"), (None, "desktop")):
        kwargs = {"viewport": viewport} if viewport else {}
        page = pages.open("/dashboards", **kwargs)
        expect(page).to_have_url(f"{live_server.url}/login?next=/dashboards")
        assert axe_audit(page) == []
        assert layout_fits(page) == []
        screenshot(page, "login")
        page.fill("#login-secret", "hub_k_00000000_wrong")
        page.click("#login-form button[type=submit]")
        expect(page.locator("#login-error")).to_have_text("That key or token was not accepted.")
        expect(page.locator("#login-secret")).to_have_attribute("aria-invalid", "true")
        page.fill("#login-secret", live_server.keys["analytics"])
        page.click("#login-form button[type=submit]")
        expect(page).to_have_url(f"{live_server.url}/dashboards")
        expect(page.locator("body[data-dashboards-loaded]")).to_have_count(1, timeout=30_000)
        page.click("#signout")
        expect(page).to_have_url(f"{live_server.url}/login")
        page.goto(f"{live_server.url}/notifications")
        expect(page).to_have_url(f"{live_server.url}/login?next=/notifications")
        # a user token works in the same form and lands on the notification center
        page.fill("#login-secret", live_server.token("nora"))
        page.click("#login-form button[type=submit]")
        expect(page).to_have_url(f"{live_server.url}/notifications")
        page_health(page)
        assert name


def test_forbidden_page_is_accessible(pages: Pages, live_server: LiveServer) -> None:
    page = pages.open("/notifications", key="analytics")
    expect(page.locator("h1")).to_have_text("Not allowed")
    assert axe_audit(page) == []
    screenshot(page, "forbidden")
