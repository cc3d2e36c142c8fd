"""Settings from HUB_* variables and .env; URLs with passwords obscured for logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub import settings as settings_mod
from hub.settings import load_settings, obscure_url


def test_env_and_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "HUB_DATABASE_URL=postgresql://hub:pw@db:5432/hub\n"
        "HUB_PORT=9000\n"
        "HUB_RUN_WORKERS=false\n"
        "HUB_SECRET_KEY=from-dotenv\n"
        "HUB_INGEST_INTERVAL=2.5\n"
    )
    monkeypatch.setenv("HUB_PORT", "9100")  # the environment wins over .env
    monkeypatch.setenv("HUB_BROADCAST_URL", "redis://127.0.0.1:6379/2")
    s = load_settings(str(env_file))
    assert s.database_url == "postgresql://hub:pw@db:5432/hub"
    assert s.port == 9100 and s.run_workers is False and s.ingest_interval == 2.5
    assert s.broadcast_url == "redis://127.0.0.1:6379/2" and s.secret_key == "from-dotenv"
    assert load_settings(str(env_file), port=1234).port == 1234
    # a missing .env is fine
    monkeypatch.setenv("HUB_SECRET_KEY", "k")
    assert load_settings(str(tmp_path / "nope.env")).secret_key == "k"


def test_bad_number_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_PORT", "eighty")
    with pytest.raises(ValueError):
        load_settings(None)


def test_secret_never_in_safe_dict_or_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_SECRET_KEY", "super-secret-value")
    monkeypatch.setenv("HUB_DATABASE_URL", "postgresql://hub:hunter2@db/hub")
    s = load_settings(None)
    safe = s.safe_dict()
    assert "secret_key" not in safe and "webhook_secret" not in safe
    assert safe["database_url"] == "postgresql://hub:***@db/hub"
    assert "super-secret-value" not in repr(s) and "super-secret-value" not in str(safe)


def test_generated_secret_persists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUB_SECRET_KEY", raising=False)
    monkeypatch.setattr(settings_mod, "VAR_DIR", tmp_path / "var")
    first = load_settings(None).secret_key
    assert len(first) >= 40
    assert load_settings(None).secret_key == first
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o077 == 0


def test_obscure_url() -> None:
    assert obscure_url("redis://:pw@host:6379/0") == "redis://:***@host:6379/0"
    assert (
        obscure_url("smtp://user:p%40ss@mail:587?starttls=1")
        == "smtp://user:***@mail:587?starttls=1"
    )
    assert obscure_url("sqlite:///var/hub.db") == "sqlite:///var/hub.db"
    assert obscure_url("") == ""
    assert obscure_url("clickhouse://a:b@c@host:8123/db") == "clickhouse://a:***@host:8123/db"


def test_docker_compose_uses_only_known_settings() -> None:
    import dataclasses

    import yaml

    from hub.settings import Settings

    root = Path(__file__).resolve().parents[2]
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    known = {f"HUB_{f.name.upper()}" for f in dataclasses.fields(Settings)} | {"HUB_VAR_DIR"}
    services = compose["services"]
    assert {"postgres", "redis", "clickhouse", "hub", "worker"} <= set(services)
    env = services["hub"]["environment"]
    assert set(env) <= known, set(env) - known
    assert env["HUB_DATABASE_URL"].startswith("postgresql://")
    assert env["HUB_BROADCAST_URL"].startswith("redis://redis:")
    assert (
        env["HUB_ANALYTICS_URL"].startswith("clickhouse://")
        and "@clickhouse:8123/" in env["HUB_ANALYTICS_URL"]
    )
    # the Dockerfile copies what the app reads at run time
    dockerfile = (root / "Dockerfile").read_text()
    for path in ("hub", "analytics", "dashboards", "sql", "web"):
        assert f"COPY {path} ./{path}" in dockerfile
        assert (root / path).is_dir()
