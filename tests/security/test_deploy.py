"""Production settings pass Django's deployment checklist (`manage.py check --deploy`) with nothing silenced:
the settings' own defaults, and the environment docker-compose.yml gives its services. A production gunicorn
answers the compose health check over plain http and redirects every other plain http request to https."""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
HOST = "launchpad.example.com"


def production_environment(data_dir: Path, **extra: str) -> dict[str, str]:
    """What an operator sets: a strong key, the host name, PostgreSQL and Redis; no DEBUG, no dev escape hatch."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(data_dir),
        "LAUNCHPAD_DATA_DIR": str(data_dir),
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": HOST,
        # `check` connects to no database: a PostgreSQL URL is what production has.
        "DATABASE_URL": "postgres://launchpad:launchpad@db.invalid:5432/launchpad",
        "CELERY_BROKER_URL": "redis://redis.invalid:6379/0",
        **extra,
    }


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_clean(result: subprocess.CompletedProcess) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in result.stdout, output
    assert "WARNINGS" not in output and "security." not in output, output


def test_check_deploy_is_clean_with_the_production_defaults(tmp_path):
    assert_clean(check_deploy(production_environment(tmp_path)))


def test_check_deploy_catches_an_insecure_setting(tmp_path):
    """The check above can fail: plain-http cookies are reported, so a clean run means something."""
    result = check_deploy(production_environment(tmp_path, SECURE_COOKIES="false", SECURE_SSL_REDIRECT="false"))

    assert result.returncode != 0
    for code in ("security.W008", "security.W012", "security.W016"):
        assert code in result.stderr + result.stdout


def compose_environment(service: str) -> dict[str, str]:
    """A compose service's environment as `docker compose up` resolves it with nothing in .env but SECRET_KEY."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    resolved = {}
    for name, value in compose["services"][service]["environment"].items():
        value = str(value)
        if name == "SECRET_KEY":
            assert value.startswith("${SECRET_KEY:?"), "compose refuses to start without a SECRET_KEY"
            value = secrets.token_urlsafe(64)
        resolved[name] = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)
    return resolved


@pytest.mark.parametrize("service", ["web", "worker"])
def test_check_deploy_is_clean_with_the_compose_environment(service, tmp_path):
    env = compose_environment(service)
    assert env["DEBUG"] == "false"
    assert env["SECURE_COOKIES"] == "true" and env["SECURE_SSL_REDIRECT"] == "true"

    assert_clean(
        check_deploy({**env, "PATH": os.environ["PATH"], "HOME": str(tmp_path), "LAUNCHPAD_DATA_DIR": str(tmp_path)})
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def production_gunicorn(tmp_path):
    """gunicorn as the Dockerfile runs it, with the compose environment (SQLite instead of PostgreSQL)."""
    port = free_port()
    env = {
        **compose_environment("web"),
        "ALLOWED_HOSTS": f"{HOST},other.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "LAUNCHPAD_DATA_DIR": str(tmp_path),
    }
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    # Ready once a worker has loaded Django and answers (the compose check then has its 3 s, as when warm).
    ready = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"Host": HOST})
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(ready, timeout=30).close()
            break
        except OSError:
            assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
            time.sleep(0.2)
    yield port, env
    process.terminate()
    process.wait(timeout=30)


def test_compose_health_check_passes_over_http_and_other_plain_http_is_redirected(production_gunicorn):
    port, env = production_gunicorn
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    command = compose["services"]["web"]["healthcheck"]["test"]
    assert command[:3] == ["CMD", "python", "-c"]
    health = subprocess.run(
        [sys.executable, "-c", command[3].replace("127.0.0.1:8000", f"127.0.0.1:{port}")],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert health.returncode == 0, health.stderr

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(f"http://127.0.0.1:{port}/accounts/login/", headers={"Host": HOST})
    with pytest.raises(urllib.error.HTTPError) as redirected:
        opener.open(request, timeout=10)
    assert redirected.value.code == 301
    assert redirected.value.headers["Location"] == f"https://{HOST}/accounts/login/"

    secure = urllib.request.Request(
        f"http://127.0.0.1:{port}/accounts/login/", headers={"Host": HOST, "X-Forwarded-Proto": "https"}
    )
    with opener.open(secure, timeout=10) as response:
        assert response.status == 200
        assert "max-age=31536000" in response.headers["Strict-Transport-Security"]
        assert "Secure" in response.headers["Set-Cookie"]
