"""The HTTP status rule the webhook and chat senders share."""

from __future__ import annotations

import pytest

from hub.delivery.base import retryable_status


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504, 599])
def test_timeouts_rate_limits_and_server_errors_are_retried(status: int) -> None:
    assert retryable_status(status)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 413, 422, 499])
def test_other_client_errors_are_refusals(status: int) -> None:
    assert not retryable_status(status)
