"""docker-compose.yml and the Dockerfile cannot run here (no Docker engine): check that they say what
they must — every service with a healthcheck, the settings names scripts rely on, commands that exist."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_has_every_service_with_a_healthcheck_except_one_shots(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "emulator", "migrate", "web", "worker", "beat"}
    for name in ("postgres", "redis", "emulator", "web", "worker"):
        assert services[name]["healthcheck"]["test"], name


def test_compose_services_share_the_launchpad_settings(compose):
    for name in ("web", "worker", "beat", "migrate"):
        environment = compose["services"][name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://")
        assert environment["CELERY_BROKER_URL"].startswith("redis://redis:6379")
        assert environment["AWS_ENDPOINT_URL"] == "http://emulator:4566"
        assert "SECRET_KEY" in environment


def test_compose_keeps_data_in_volumes(compose):
    assert {"postgres", "redis", "work", "terraform-cache"} <= set(compose["volumes"])
    assert any(v.startswith("postgres:") for v in compose["services"]["postgres"]["volumes"])
    assert any(v.startswith("work:") for v in compose["services"]["worker"]["volumes"])


def test_web_and_workers_wait_for_migrations_and_their_services(compose):
    for name in ("web", "worker"):
        depends = compose["services"][name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"


def test_dockerfile_installs_the_pinned_requirements_and_runs_unprivileged():
    text = (REPO / "Dockerfile").read_text()
    assert "pip install --no-cache-dir -r requirements.txt" in text
    assert "USER launchpad" in text
    assert "portal.wsgi" in text


def test_healthz_answers_when_the_database_does(client, db):
    assert client.get("/healthz").json() == {"status": "ok"}
