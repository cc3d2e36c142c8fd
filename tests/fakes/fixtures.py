"""Fixtures for the push fakes; test modules import the ones they use.

(Kept here rather than in tests/hub/delivery/conftest.py, which belongs to the
delivery queue's tests.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hub.delivery.base import Delivery
from tests.fakes.apns_server import FakeAPNs, make_p8_key, make_tls_cert
from tests.fakes.fcm_server import FakeFCM, make_service_account

TEAM_ID = "TEAM123456"
KEY_ID = "KEY1234567"
TOPIC = "com.example.hub"
PROJECT = "hub-test-project"


@dataclass
class APNsFixture:
    fake: FakeAPNs
    settings: dict[str, Any]  # the HUB_APNS_* settings that aim the hub at the fake


@dataclass
class FCMFixture:
    fake: FakeFCM
    settings: dict[str, Any]  # the HUB_FCM_* settings that aim the hub at the fake


@pytest.fixture
async def apns(tmp_path: Path) -> AsyncIterator[APNsFixture]:
    pem, public = make_p8_key()
    key_path = tmp_path / f"AuthKey_{KEY_ID}.p8"
    key_path.write_text(pem)
    cert, cert_key = make_tls_cert(tmp_path)
    fake = FakeAPNs(public_key=public, team_id=TEAM_ID, key_id=KEY_ID, topic=TOPIC)
    url = await fake.start(cert, cert_key)
    settings = {
        "apns_key_path": str(key_path),
        "apns_key_id": KEY_ID,
        "apns_team_id": TEAM_ID,
        "apns_topic": TOPIC,
        "apns_url": url,
        "apns_ca_file": str(cert),
    }
    yield APNsFixture(fake, settings)
    await fake.stop()


@pytest.fixture
async def fcm(tmp_path: Path) -> AsyncIterator[FCMFixture]:
    fake = FakeFCM(project_id=PROJECT)
    url = await fake.start()
    path = tmp_path / "service-account.json"
    fake.public_key = make_service_account(path, PROJECT, token_uri=f"{url}/token")
    settings = {"fcm_credentials_path": str(path), "fcm_project_id": PROJECT, "fcm_url": url}
    yield FCMFixture(fake, settings)
    await fake.stop()


def delivery(**fields: Any) -> Delivery:
    values: dict[str, Any] = {
        "id": 1,
        "notification_id": 10,
        "user_id": "alice",
        "channel": "push",
        "attempts": 0,
        "category": "billing",
        "title": "Paid",
        "body": "Thanks for your payment",
        "link": "/billing/1",
        "priority": "normal",
        "data": {"amount": 5},
    }
    values.update(fields)
    return Delivery(**values)
