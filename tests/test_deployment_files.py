"""docker-compose.yml and the Dockerfile cannot run here (no Docker engine): check that they say what
they must — every service with a healthcheck, the settings names scripts rely on, commands that exist."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
# What runs tests, lints or drives a browser: never in the image.
DEVELOPMENT_TOOLS = {"pytest", "pytest-django", "pytest-timeout", "ruff", "schemathesis", "playwright", "import-linter"}
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==(?P<version>\S+)$")
_NAME = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)")


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined, comments left out."""
    instructions, pending = [], ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        keyword, _, arguments = pending.strip().partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def pip_installs(instructions: list[tuple[str, str]]) -> list[list[str]]:
    """The arguments of each `pip install` the RUN instructions make."""
    installs = []
    for keyword, arguments in instructions:
        if keyword != "RUN":
            continue
        for command in re.split(r"&&|;|\|\|", arguments):
            words = shlex.split(command)
            if "pip" in words and "install" in words[words.index("pip") :]:
                installs.append(words[words.index("install", words.index("pip")) + 1 :])
    return installs


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(path: Path) -> set[str]:
    """The names a requirements .in file asks for, those of the files it includes (-r) too."""
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            names |= requirement_names(path.parent / line[3:].strip())
        elif line:
            names.add(normalised(_NAME.match(line)["name"]))
    return names


def pins(path: Path) -> dict[str, str]:
    """Name -> version of a pinned requirements .txt file; a line that is not `name==version` fails."""
    pinned = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            match = _PIN.match(line)
            assert match, f"{path.name}: {line!r} is not pinned (name==version)"
            pinned[normalised(match["name"])] = match["version"]
    return pinned


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


def test_the_image_installs_the_runtime_requirements_and_nothing_else():
    instructions = dockerfile_instructions((REPO / "Dockerfile").read_text())
    assert pip_installs(instructions) == [["--no-cache-dir", "-r", "requirements.txt"]]
    # Copied before the install (a cached layer while they do not change), and no other requirements file.
    copies = [arguments for keyword, arguments in instructions if keyword == "COPY" and "requirements" in arguments]
    assert copies == ["requirements.txt ."]


def test_runtime_requirements_hold_no_development_tool():
    assert not DEVELOPMENT_TOOLS & set(pins(REPO / "requirements.txt"))
    assert not DEVELOPMENT_TOOLS & requirement_names(REPO / "requirements.in")


@pytest.mark.parametrize(
    ("wanted", "pinned"), [("requirements.in", "requirements.txt"), ("requirements-dev.in", "requirements-dev.txt")]
)
def test_every_requirement_is_pinned_in_its_lock_file(wanted, pinned):
    missing = requirement_names(REPO / wanted) - set(pins(REPO / pinned))
    assert not missing, f"{pinned} does not pin {sorted(missing)} ({wanted} asks for them)"


def test_development_installs_the_runtime_pins_unchanged_and_the_tools():
    runtime, development = pins(REPO / "requirements.txt"), pins(REPO / "requirements-dev.txt")
    assert {name: development.get(name) for name in runtime} == runtime
    assert {"pytest", "ruff", "schemathesis", "playwright"} <= set(development)


def test_make_installs_the_development_requirements_again_when_either_lock_file_changes():
    makefile = (REPO / "Makefile").read_text()
    stamp = re.search(r"^\$\(STAMP\):(?P<needs>.*)\n(?P<recipe>(\t.*\n)+)", makefile, re.M)
    assert set(stamp["needs"].split()) == {"requirements.txt", "requirements-dev.txt"}
    assert "-r requirements-dev.txt" in stamp["recipe"] and "-r requirements.txt" not in stamp["recipe"]


def test_healthz_answers_when_the_database_does(client, db):
    assert client.get("/healthz").json() == {"status": "ok"}
